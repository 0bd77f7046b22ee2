export { Reader } from './reader.ts';
export { Writer, encodeStrings } from './writer.ts';
export { SSH_MSG, DISCONNECT_REASON, CHANNEL_OPEN_FAILURE } from './message-numbers.ts';
export { DecodeError, ProtocolError, DisconnectError } from './errors.ts';
