/**
 * The SFTP wire format, version 3, as OpenSSH speaks it (draft-ietf-secsh-filexfer-02, and OpenSSH's
 * PROTOCOL §4 for its deviations and extensions), encoded once for both roles.
 *
 * Every packet is `uint32 length, byte type, body` (draft-02 §3). The encoders here return whole packets,
 * length included, ready to write to the channel; the decoders take one packet's payload (type byte first,
 * length stripped) as SftpPacketParser yields it. Offsets and sizes are uint64 on the wire and plain numbers
 * here: values above 2^53 are refused as malformed, since no file we can address is that large.
 * Paths are UTF-8 text (invalid sequences become U+FFFD; they cannot turn into '/' or NUL).
 */
export * from './protocol/constants.ts';
export * from './protocol/attributes.ts';
export * from './protocol/framing.ts';
export * from './protocol/buffer-pool.ts';
export * from './protocol/requests.ts';
export * from './protocol/responses.ts';
