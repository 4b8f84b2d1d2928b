// Reading a stream of chunks (a NAR, a response body) whole, in tests.

/** All of `chunks`, concatenated. */
export async function collect(chunks: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
}
