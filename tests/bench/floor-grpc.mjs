// The floor the idle agent is compared with: Node with the agent's flags running only a grpc-js
// TLS server (argv: cert key), or with `--bare`, nothing at all. Run by agent-idle.mjs beside the agent.
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';

if (process.argv[2] === '--bare') {
  setInterval(() => {}, 1 << 30);
} else {
  const [cert, key] = process.argv.slice(2).map((f) => readFileSync(f));
  const server = new grpc.Server();
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createSsl(null, [{ cert_chain: cert, private_key: key }]), (error, port) => {
    if (error) throw error;
    process.stdout.write(`listening on ${port}\n`);
  });
}
