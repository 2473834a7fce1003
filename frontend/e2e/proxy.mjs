// Placeholder replaced below once the SigV4 proxy is wired.
export async function startProxy() { throw new Error('sigv4 proxy not wired'); }
