/** Runs `fn` with process.stdout.write captured; returns its value and every chunk written. */
export async function captureStdout<T>(fn: () => T | Promise<T>): Promise<{ value: T; chunks: string[] }> {
  const chunks: string[] = [];
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    return { value: await fn(), chunks };
  } finally {
    process.stdout.write = original;
  }
}
