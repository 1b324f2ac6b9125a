// The JSON of the server's messages on stdio (written by stdioWriter.ts). A publishDiagnostics message carries
// every diagnostic of the document, and after a one-line edit almost all of them are the objects sent last
// time (toDiagnostic caches one per finding). Serializing all of them again was the largest cost of a
// keystroke in a large file (~800 diagnostics, ~320 KB of JSON): here each diagnostic's JSON bytes are kept
// and the message is spliced together from those pieces.
// Every message goes out as pure ASCII: non-ASCII characters (≈, …, ≥ in messages, a path's ü) are written
// as JSON \u escapes. The few hundred of them in a large file's 320 KB of diagnostics made the client decode
// the whole message through UTF-8's slow path into a two-byte string (1.4 ms, against 0.4 ms for ASCII, and
// a slower JSON.parse after it); the escapes parse back to the very same strings.
import type { Message } from 'vscode-languageserver/node';
import type { Diagnostic } from 'vscode-languageserver';

const PUBLISH_DIAGNOSTICS = 'textDocument/publishDiagnostics';

/** Stands in for the diagnostics array while the rest of the message is stringified. */
const MARKER = '\u0000ane-lens-diagnostics\u0000';
const MARKER_JSON = JSON.stringify(MARKER);

const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']');

/** ASCII JSON of each diagnostic object sent so far (diagnostics are never changed once built). */
const pieces = new WeakMap<object, Buffer>();

const NON_ASCII = /[\u0080-\uffff]/g;

/** `json` (JSON.stringify output, so non-ASCII only inside strings) with non-ASCII as \u escapes, as bytes. */
function asciiBytes(json: string): Buffer {
  // Code units one by one: a surrogate pair becomes two escapes, which JSON decodes to the pair again.
  const ascii = json.replace(NON_ASCII, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return Buffer.from(ascii, 'latin1');
}

function pieceOf(diagnostic: Diagnostic): Buffer {
  let piece = pieces.get(diagnostic);
  if (!piece) pieces.set(diagnostic, (piece = asciiBytes(JSON.stringify(diagnostic))));
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

/** The JSON of `msg` in ASCII: JSON.stringify(msg), with non-ASCII characters as \u escapes. */
export function encodeMessage(msg: Message): Buffer {
  if (!isPublish(msg)) return asciiBytes(JSON.stringify(msg));
  const diagnostics = msg.params.diagnostics as Diagnostic[];
  // The message without its diagnostics keeps its own key order; the array goes where the marker is.
  const shell = JSON.stringify({ ...msg, params: { ...msg.params, diagnostics: MARKER } });
  const at = shell.indexOf(MARKER_JSON);
  const parts: Buffer[] = [asciiBytes(shell.slice(0, at)), OPEN];
  for (let i = 0; i < diagnostics.length; i++) {
    if (i > 0) parts.push(COMMA);
    const d = diagnostics[i];
    // Anything that is not a diagnostic object (never expected) is serialized as JSON.stringify would.
    parts.push(typeof d === 'object' && d !== null ? pieceOf(d) : asciiBytes(JSON.stringify(d ?? null)));
  }
  parts.push(CLOSE, asciiBytes(shell.slice(at + MARKER_JSON.length)));
  return Buffer.concat(parts);
}
