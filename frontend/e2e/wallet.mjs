// A test wallet: an EIP-1193 provider injected into the page (announced over EIP-6963) whose every
// request crosses into Node (exposeFunction), where viem's privateKeyToAccount signs with one of
// the stack's funded keys and everything else goes to the chain's JSON-RPC. `rejectNext` makes the
// next signing request fail like a person clicking "Reject" (EIP-1193 code 4001).
import { createWalletClient, http, numberToHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

const SIGNING = new Set(['eth_sendTransaction', 'personal_sign', 'eth_signTypedData_v4']);

function injected() {
  const listeners = {};
  const provider = {
    async request({ method, params }) {
      const reply = await window.__pulseLedgerWallet(method, params ?? []);
      if (reply.error) {
        const error = new Error(reply.error.message);
        error.code = reply.error.code;
        error.data = reply.error.data;
        throw error;
      }
      return reply.result;
    },
    on(event, listener) { (listeners[event] ??= []).push(listener); },
    removeListener(event, listener) { listeners[event] = (listeners[event] ?? []).filter((l) => l !== listener); },
  };
  const info = { uuid: '6a1c7d52-3f0e-4c7b-9a5e-2b8f1d0c9e41', name: 'Test Wallet', icon: 'data:image/svg+xml,%3Csvg xmlns="http://www.w3.org/2000/svg"/%3E', rdns: 'org.pulseledger.testwallet' };
  const announce = () => window.dispatchEvent(new CustomEvent('eip6963:announceProvider', { detail: Object.freeze({ info, provider }) }));
  window.addEventListener('eip6963:requestProvider', announce);
  announce();
}

function typedDataFor(json) {
  const { domain, types, primaryType, message } = JSON.parse(json);
  const { EIP712Domain, ...rest } = types;
  const out = { ...message };
  for (const field of rest[primaryType]) if (/^u?int/.test(field.type)) out[field.name] = BigInt(out[field.name]);
  return { domain: { ...domain, chainId: domain.chainId === undefined ? undefined : Number(domain.chainId) }, types: rest, primaryType, message: out };
}

export async function attachWallet(context, { key, rpcUrl, chainId, startChainId = chainId }) {
  const account = privateKeyToAccount(key);
  const chain = { id: chainId, name: 'e2e', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } } };
  const client = createWalletClient({ account, chain, transport: http(rpcUrl) });
  const state = { chainId: startChainId, rejectNext: false, requests: [] };

  const handle = async (method, params) => {
    state.requests.push(method);
    if (state.rejectNext && SIGNING.has(method)) {
      state.rejectNext = false;
      return { error: { code: 4001, message: 'User rejected the request.' } };
    }
    switch (method) {
      case 'eth_requestAccounts':
      case 'eth_accounts':
        return { result: [account.address] };
      case 'eth_chainId':
        return { result: numberToHex(state.chainId) };
      case 'wallet_switchEthereumChain': {
        const wanted = Number(params[0].chainId);
        if (wanted !== chainId) return { error: { code: 4902, message: 'Unrecognized chain.' } };
        state.chainId = wanted;
        return { result: null };
      }
      case 'personal_sign':
        return { result: await account.signMessage({ message: { raw: params[0] } }) };
      case 'eth_signTypedData_v4':
        return { result: await account.signTypedData(typedDataFor(params[1])) };
      case 'eth_sendTransaction': {
        const tx = params[0];
        const hash = await client.sendTransaction({
          to: tx.to, data: tx.data, value: tx.value ? BigInt(tx.value) : undefined, gas: tx.gas ? BigInt(tx.gas) : undefined,
        });
        return { result: hash };
      }
      default: {
        const response = await fetch(rpcUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
        const body = await response.json();
        return body.error ? { error: body.error } : { result: body.result };
      }
    }
  };

  await context.exposeFunction('__pulseLedgerWallet', async (method, params) => {
    try {
      return await handle(method, params);
    } catch (error) {
      return { error: { code: error.code ?? -32603, message: error.shortMessage ?? error.message, data: error.data } };
    }
  });
  await context.addInitScript(injected);
  return { address: account.address, state };
}
