// The file a process appends its log lines to. It can be reopened (after logrotate moved it away,
// so no line is lost and no copytruncate is needed) and capped (past the cap lines go to standard
// error only, until the next reopen), so a node's disk never fills with logs.
import { createWriteStream, fstatSync, mkdirSync, openSync, type WriteStream } from 'node:fs';
import path from 'node:path';

export interface LogFile {
  write(text: string): void;
  /** Opens the path anew; what was written before goes to the file it was written to. */
  reopen(): void;
  /** Resolves once what was written is on disk. */
  end(): Promise<void>;
}

/** `notice`: how the file tells about itself (failed writes, the cap), on standard error. */
export function openLogFile(file: string, maxBytes: number | undefined, notice: (message: string, meta: Record<string, unknown>) => void): LogFile {
  let stream: WriteStream;
  let size = 0;
  let capped = false;

  const open = () => {
    const fd = openSync(file, 'a', 0o600);
    const next = createWriteStream('', { fd });
    // A later failure (disk full, file system gone) must not end the process: say so once, go on.
    let failed = false;
    next.on('error', (error) => {
      if (!failed) notice('writing the log file failed; logging to standard error only', { file, error: error.message });
      failed = true;
    });
    size = fstatSync(fd).size;
    capped = false;
    return next;
  };

  // Opened now, so a path that cannot be written fails the start with its reason. Its folder is
  // made if missing, private like the file.
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  stream = open();

  return {
    write(text) {
      if (capped) return;
      const bytes = Buffer.byteLength(text);
      if (maxBytes !== undefined && size + bytes > maxBytes) {
        capped = true;
        notice('the log file reached its size cap; logging to standard error only until it is rotated', { file, max_bytes: maxBytes });
        return;
      }
      size += bytes;
      stream.write(text);
    },
    reopen() {
      let next: WriteStream;
      try {
        next = open();
      } catch (error) {
        notice('reopening the log file failed; writing to the file open before', { file, error: (error as Error).message });
        return;
      }
      stream.end();
      stream = next;
    },
    end: () => new Promise<void>((resolve) => stream.end(resolve)),
  };
}
