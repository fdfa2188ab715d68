/**
 * The Jupyter messaging protocol's wire format (version 5.3), just the parts a client needs:
 * building signed messages and parsing/verifying the kernel's. Kept free of sockets so it can
 * be tested byte for byte.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ToolError } from '../errors';

export const PROTOCOL_VERSION = '5.3';
const DELIMITER = Buffer.from('<IDS|MSG>');

export interface MessageHeader {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
}

export interface JupyterMessage {
  header: MessageHeader;
  /** Empty object when the message has no parent. */
  parent_header: Partial<MessageHeader>;
  metadata: Record<string, unknown>;
  content: Record<string, unknown>;
}

/** What a kernel's connection file holds (the fields Jupyter writes). */
export interface ConnectionInfo {
  transport: 'tcp' | 'ipc';
  ip: string;
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
  key: string;
  signature_scheme: 'hmac-sha256';
  kernel_name: string;
}

export function newId(): string {
  return randomBytes(16).toString('hex');
}

export function makeMessage(
  msgType: string,
  content: Record<string, unknown>,
  session: string,
  username = 'kdlab',
): JupyterMessage {
  return {
    header: {
      msg_id: newId(),
      session,
      username,
      date: new Date().toISOString(),
      msg_type: msgType,
      version: PROTOCOL_VERSION,
    },
    parent_header: {},
    metadata: {},
    content,
  };
}

/** HMAC-SHA256 over header, parent_header, metadata, content (in that order), hex-encoded. */
export function sign(key: string, parts: ReadonlyArray<Buffer | string>): string {
  // An empty key means "signing disabled" in the protocol; we never write one, but accept it.
  if (key === '') return '';
  const hmac = createHmac('sha256', key);
  for (const p of parts) hmac.update(p);
  return hmac.digest('hex');
}

/** Frames to send on a DEALER socket: [<IDS|MSG>, signature, header, parent, metadata, content]. */
export function serialize(key: string, msg: JupyterMessage): Buffer[] {
  const bodies = [msg.header, msg.parent_header, msg.metadata, msg.content].map((p) =>
    Buffer.from(JSON.stringify(p), 'utf8'),
  );
  return [DELIMITER, Buffer.from(sign(key, bodies), 'ascii'), ...bodies];
}

/**
 * Parses frames received from the kernel (any routing identities before the delimiter are
 * dropped) and verifies the signature; a message signed with another key is refused, because
 * on a shared machine another process could otherwise inject outputs.
 */
export function deserialize(key: string, frames: ReadonlyArray<Buffer>): JupyterMessage {
  const delim = frames.findIndex((f) => f.equals(DELIMITER));
  if (delim < 0 || frames.length < delim + 6) {
    throw new ToolError('KERNEL_PROTOCOL', 'malformed Jupyter message from the kernel (no <IDS|MSG> delimiter or too few frames)');
  }
  const signature = frames[delim + 1].toString('ascii');
  const bodies = frames.slice(delim + 2, delim + 6);
  const expected = sign(key, bodies);
  const ok =
    signature.length === expected.length &&
    timingSafeEqual(Buffer.from(signature, 'ascii'), Buffer.from(expected, 'ascii'));
  if (!ok) {
    throw new ToolError('KERNEL_PROTOCOL', 'Jupyter message with an invalid HMAC signature was refused');
  }
  const [header, parent, metadata, content] = bodies.map((b) => JSON.parse(b.toString('utf8')) as unknown);
  return {
    header: header as MessageHeader,
    parent_header: (parent ?? {}) as Partial<MessageHeader>,
    metadata: (metadata ?? {}) as Record<string, unknown>,
    content: (content ?? {}) as Record<string, unknown>,
  };
}
