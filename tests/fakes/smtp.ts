// Real SMTP capture server for tests: accepts mail on 127.0.0.1:<ephemeral>, parses it, keeps it in memory.
import { SMTPServer } from 'smtp-server';
import type { SMTPServerAddress, SMTPServerOptions } from 'smtp-server';
import { simpleParser } from 'mailparser';
import type { AddressInfo } from 'node:net';

export interface CapturedMail { from: string; to: string[]; subject: string; html: string; text: string; raw: string; headers: Record<string, string> }
export interface SmtpCapture {
  host: string;
  port: number;
  mails: CapturedMail[];
  waitForMail(to: string, opts?: { timeoutMs?: number; count?: number }): Promise<CapturedMail>;
  mailsTo(to: string): CapturedMail[];
  clear(): void;
  failNext(n?: number): void;
  stop(): Promise<void>;
}

type SmtpError = Error & { responseCode?: number };
interface Waiter { check(): boolean }

const addr = (a: SMTPServerAddress | false): string => (a ? a.address : '');

export async function startSmtpCapture(opts: { user?: string; pass?: string } = {}): Promise<SmtpCapture> {
  const mails: CapturedMail[] = [];
  const waiters = new Set<Waiter>();
  let failures = 0;
  const requireAuth = opts.user !== undefined || opts.pass !== undefined;
  const mailsTo = (to: string): CapturedMail[] =>
    mails.filter((m) => m.to.some((r) => r.toLowerCase() === to.toLowerCase()));

  const options: SMTPServerOptions = {
    secure: false,
    logger: false,
    closeTimeout: 200,
    disabledCommands: requireAuth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    authOptional: !requireAuth,
    authMethods: ['PLAIN', 'LOGIN'],
    allowInsecureAuth: true,
    onAuth(auth, _session, callback) {
      if (auth.username === opts.user && auth.password === opts.pass) return callback(null, { user: auth.username });
      const err: SmtpError = new Error('Invalid username or password');
      err.responseCode = 535;
      callback(err);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (e: Error) => callback(e));
      stream.on('end', () => {
        if (failures > 0) {
          failures--;
          const err: SmtpError = new Error('Mailbox unavailable (simulated failure)');
          err.responseCode = 550;
          return callback(err);
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        simpleParser(raw).then(
          (parsed) => {
            const headers: Record<string, string> = {};
            for (const { key, line } of parsed.headerLines) {
              if (!(key in headers)) headers[key] = line.slice(line.indexOf(':') + 1).replace(/\r?\n[ \t]+/g, ' ').trim();
            }
            mails.push({
              from: addr(session.envelope.mailFrom) || (parsed.from?.value[0]?.address ?? ''),
              to: session.envelope.rcptTo.map((r) => r.address),
              subject: parsed.subject ?? '',
              html: typeof parsed.html === 'string' ? parsed.html : '',
              text: parsed.text ?? '',
              raw,
              headers,
            });
            callback();
            for (const w of [...waiters]) if (w.check()) waiters.delete(w);
          },
          (e: unknown) => callback(e instanceof Error ? e : new Error(String(e))),
        );
      });
    },
  };

  const server = new SMTPServer(options);
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;

  return {
    host: '127.0.0.1',
    port,
    mails,
    mailsTo,
    waitForMail(to, { timeoutMs = 5000, count = 1 } = {}) {
      return new Promise<CapturedMail>((resolve, reject) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const waiter: Waiter = {
          check() {
            const got = mailsTo(to);
            const last = got[got.length - 1];
            if (got.length < count || !last) return false;
            if (timer) clearTimeout(timer);
            resolve(last);
            return true;
          },
        };
        if (waiter.check()) return;
        waiters.add(waiter);
        timer = setTimeout(() => {
          waiters.delete(waiter);
          const seen = mails.flatMap((m) => m.to).join(', ') || 'none';
          reject(new Error(`SMTP capture: expected ${count} mail(s) to ${to} within ${timeoutMs}ms, got ${mailsTo(to).length} (recipients seen: ${seen})`));
        }, timeoutMs);
      });
    },
    clear() {
      mails.length = 0;
    },
    failNext(n = 1) {
      failures += n;
    },
    stop() {
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
