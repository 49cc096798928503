/**
 * Newline-delimited text from a byte stream, one line at a time: the JSON-lines protocol between
 * bench and test parents and their child processes. Written here because `@std/streams`'
 * `TextLineStream` lives on JSR, which our build machines cannot reach.
 *
 * @example
 * ```ts
 * for await (const line of readLines(Deno.stdin.readable)) console.log(JSON.parse(line));
 * ```
 */
export async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buf = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, nl);
      buf = buf.slice(nl + 1);
    }
  }
}
