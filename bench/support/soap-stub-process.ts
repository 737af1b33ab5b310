/**
 * Runs {@link startSoapStub} in its own process. Argument: a JSON file of `CannedReplies`
 * (recorded with `recordReply`). Prints one JSON line `{ url }` once listening; exits on
 * SIGTERM/SIGINT or when stdin closes (the parent died).
 */
import { readFileSync } from 'node:fs';
import { startSoapStub, type CannedReplies } from './soap-stub.ts';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: soap-stub-process.ts <replies.json>\n');
  process.exit(2);
}
const replies = JSON.parse(readFileSync(file, 'utf8')) as CannedReplies;
const stub = await startSoapStub(replies, Number(process.env.STUB_PORT ?? 0));
process.stdout.write(`${JSON.stringify({ url: stub.url })}\n`);

let closing = false;
async function shutdown(): Promise<void> {
  if (closing) return;
  closing = true;
  await stub.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
process.stdin.on('close', () => void shutdown());
process.stdin.resume();
