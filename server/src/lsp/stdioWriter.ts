// The server's message writer on stdio. Each message is encoded (jsonEncoder.ts) and handed to the stream
// in the call that sends it. vscode-jsonrpc's stream writer queues writes behind a semaphore that starts each
// one with setImmediate, a turn of the event loop after the send, so whatever else was queued for that turn
// ran first on the keystroke → diagnostics path (freeing the replaced syntax tree: ~4 ms after a whole-file
// reparse). The queue is there for asynchronous encoders; this one is synchronous, and a stream keeps the
// order of its writes.
import { AbstractMessageWriter, type Message, type MessageWriter } from 'vscode-languageserver/node';
import { encodeMessage } from './jsonEncoder';

export class StdioMessageWriter extends AbstractMessageWriter implements MessageWriter {
  private errors = 0;

  constructor(private readonly out: NodeJS.WritableStream) {
    super();
    out.on('error', (error: Error) => this.fireError(error));
    out.on('close', () => this.fireClose());
  }

  write(msg: Message): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (error: unknown) => {
        this.fireError(error, msg, ++this.errors);
        reject(error);
      };
      let body: Buffer;
      try {
        body = encodeMessage(msg);
      } catch (error) {
        fail(error);
        return;
      }
      // LSP's base protocol: an ASCII header, then the UTF-8 (here: ASCII) JSON body.
      this.out.write(`Content-Length: ${body.length}\r\n\r\n`, 'ascii');
      this.out.write(body, (error?: Error | null) => (error ? fail(error) : resolve()));
    });
  }

  end(): void {
    this.out.end();
  }
}
