/**
 * Issue 16 (sessions that survive): the place for its two rows, to be added when the session holder lands.
 *
 *  - resume: the time from the network coming back to the first resumed byte. Suggested shape: a client
 *    with `-o Session=bench` behind test/helpers/link-proxy.ts runs a command that keeps printing; the proxy
 *    drops the link, comes back, and the row times from the link's return to the first byte after the resume
 *    (tether → tether, against the same measure for a fresh `ssh` connection to sshd as the OpenSSH side).
 *  - holder memory: the session holder's memory per idle held session (PSS growth of the holder process
 *    over N detached sessions, N as in cases-idle.ts), against sshd's per-session memory with a PTY.
 *
 * Each is a BenchGroup (bench/context.ts): declare its row keys in `rows` (so --only can select it), measure
 * with measureAlternating (ABBA) and return Rows (bench/report.ts) with the target from the issue, if any.
 * run.ts runs sessionGroups() after the other cases.
 */
import type { BenchGroup } from './context.ts';
import { resumeGroups } from './cases-resume.ts';

export function sessionGroups(_bytes: number): BenchGroup[] {
  return resumeGroups();
}
