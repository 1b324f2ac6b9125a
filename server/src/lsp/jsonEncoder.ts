// The server's JSON-RPC content encoder for stream transports (stdio). A publishDiagnostics message carries
// every diagnostic of the document, and after a one-line edit almost all of them are the objects sent last
// time (toDiagnostic caches one per finding). Serializing all of them again was the largest cost of a
// keystroke in a large file (~800 diagnostics, ~320 KB of JSON): here each diagnostic's UTF-8 JSON is kept
// and the message is spliced together from those pieces. The bytes are exactly JSON.stringify's.
import type { ContentTypeEncoder, ContentTypeEncoderOptions, Message } from 'vscode-languageserver/node';
import type { Diagnostic } from 'vscode-languageserver';

const PUBLISH_DIAGNOSTICS = 'textDocument/publishDiagnostics';

/** Stands in for the diagnostics array while the rest of the message is stringified. */
const MARKER = '\u0000ane-lens-diagnostics\u0000';
const MARKER_JSON = JSON.stringify(MARKER);

const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']');

/** UTF-8 JSON of each diagnostic object sent so far (diagnostics are never changed once built). */
const pieces = new WeakMap<object, Buffer>();

function pieceOf(diagnostic: Diagnostic): Buffer {
  let piece = pieces.get(diagnostic);
  if (!piece) pieces.set(diagnostic, (piece = Buffer.from(JSON.stringify(diagnostic), 'utf8')));
  return piece;
}

interface PublishMessage {
  method: string;
  params: { diagnostics: unknown };
}

function isPublish(msg: Message): msg is Message & PublishMessage {
  const m = msg as Partial<PublishMessage>;
  return m.method === PUBLISH_DIAGNOSTICS && typeof m.params === 'object' && m.params !== null && Array.isArray(m.params.diagnostics);
}

/** The UTF-8 JSON of `msg`, byte for byte JSON.stringify(msg). */
export function encodeMessage(msg: Message): Buffer {
  if (!isPublish(msg)) return Buffer.from(JSON.stringify(msg), 'utf8');
  const diagnostics = msg.params.diagnostics as Diagnostic[];
  // The message without its diagnostics keeps its own key order; the array goes where the marker is.
  const shell = JSON.stringify({ ...msg, params: { ...msg.params, diagnostics: MARKER } });
  const at = shell.indexOf(MARKER_JSON);
  const parts: Buffer[] = [Buffer.from(shell.slice(0, at), 'utf8'), OPEN];
  for (let i = 0; i < diagnostics.length; i++) {
    if (i > 0) parts.push(COMMA);
    const d = diagnostics[i];
    // Anything that is not a diagnostic object (never expected) is serialized as JSON.stringify would.
    parts.push(typeof d === 'object' && d !== null ? pieceOf(d) : Buffer.from(JSON.stringify(d ?? null), 'utf8'));
  }
  parts.push(CLOSE, Buffer.from(shell.slice(at + MARKER_JSON.length), 'utf8'));
  return Buffer.concat(parts);
}

/** application/json, with cached diagnostic pieces; UTF-8 only (what LSP transports use). */
export const cachingJsonEncoder: ContentTypeEncoder = {
  name: 'application/json',
  encode(msg: Message, options: ContentTypeEncoderOptions): Promise<Uint8Array> {
    try {
      if (options.charset !== 'utf-8') return Promise.resolve(Buffer.from(JSON.stringify(msg), options.charset));
      return Promise.resolve(encodeMessage(msg));
    } catch (error) {
      return Promise.reject(error);
    }
  },
};
