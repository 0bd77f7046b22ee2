/**
 * IPQoS (ssh_config(5), sshd_config(5)): the IP type-of-service / DSCP byte on the connection's packets, set
 * once the session says whether it is interactive. Only a TCP socket has one (not sshd -i's stdin, not a
 * ProxyCommand pipe), and only Node ≥ 24 can set it; elsewhere this is a no-op, as ssh's setsockopt failure
 * only logs at debug level.
 */
export function setTypeOfService(stream: unknown, tos: number): void {
  const socket = stream as { setTypeOfService?: (tos: number) => void } | undefined;
  try {
    socket?.setTypeOfService?.(tos);
  } catch {
    // An address family or kernel that refuses it keeps the default.
  }
}
