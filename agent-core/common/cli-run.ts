// What both command lines (`boxfleet` and `boxfleet-agent`) do with an action: run it, and turn a
// failure into one line on stderr and exit status 1 instead of a stack trace.

export function fail(error: unknown): never {
  const e = error as Error & { code?: string };
  process.stderr.write(`boxfleet: ${e.code && !e.code.startsWith('AGENT_ERR') ? `${e.code}: ` : ''}${e.message}\n`);
  process.exit(1);
}

export function run<A extends unknown[]>(action: (...args: A) => Promise<void>) {
  return (...args: A) => action(...args).catch(fail);
}

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
