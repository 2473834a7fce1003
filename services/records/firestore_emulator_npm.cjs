// Fallback Firestore emulator (npm @firestore-emulator/server) for machines without gcloud.
// The package's own start() binds 0.0.0.0; we bind its gRPC server to 127.0.0.1 only.
// Usage: node firestore_emulator_npm.cjs <module dir> <port>
const path = require("path");
const [moduleDir, port] = process.argv.slice(2);
const serverDir = path.join(moduleDir, "node_modules", "@firestore-emulator", "server");
const { FirestoreServer } = require(serverDir);
const grpc = require(require.resolve("@grpc/grpc-js", { paths: [serverDir] }));

const server = new FirestoreServer();
server.server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) {
    console.error(err.message);
    process.exit(1);
  }
  console.log(`ready 127.0.0.1:${port}`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    server.stop();
    process.exit(0);
  });
}
