/** What a Transport is configured with, and the defaults both roles start from. */
import type { Duplex } from 'node:stream';
import type { PrivateKey, PublicKey } from '../keys/types.ts';

/** Default RekeyLimit: re-exchange keys after this many bytes in either direction. */
export const DEFAULT_REKEY_BYTES = 1024 ** 3;

export const DEFAULT_HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
];
export const DEFAULT_COMPRESSION = ['none', 'zlib@openssh.com'];

export interface AlgorithmPreferences {
  kex: string[];
  hostKey: string[];
  cipher: string[];
  mac: string[];
  compression: string[];
}

/** Where the peer is, when the stream is a network socket. */
export interface PeerAddress {
  address: string | undefined;
}

export interface TransportOptions {
  role: 'client' | 'server';
  stream: Duplex;
  algorithms?: Partial<AlgorithmPreferences>;
  /** Client: accept or reject the server's host key on the first exchange (throw to reject). */
  verifyHostKey?: (key: PublicKey, algorithm: string, peer: PeerAddress) => Promise<void> | void;
  /** Server: host keys to offer. */
  hostKeys?: PrivateKey[];
  /** Server: the signature algorithms announced in EXT_INFO server-sig-algs (PubkeyAcceptedAlgorithms). */
  serverSignatureAlgorithms?: string[];
  /** Server: picks a group for diffie-hellman-group-exchange. */
  chooseDhGroup?: (min: number, preferred: number, max: number) => { prime: Buffer; generator: Buffer };
  rekeyLimitBytes?: number;
  /** Re-exchange keys after this many seconds; 0 disables. */
  rekeyIntervalSeconds?: number;
  softwareVersion?: string;
  /** Diagnostic messages, as `ssh -v` prints them. */
  debug?: (message: string) => void;
}
