// htpasswd files (Apache's and nginx's auth_basic_user_file) as basic_auth reads them: `user:hash`
// lines, # comments and blank lines skipped. Only bcrypt hashes (htpasswd -B) are taken: the
// others (MD5 $apr1$, {SHA}, crypt) are weak or slow to check safely, so a line with one is
// refused with its line number rather than left to fail every login.

/** A bcrypt hash as htpasswd -B, bcrypt and bcryptjs write it: $2a$, $2b$ or $2y$, cost, 53 characters. */
export const BCRYPT = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;

export interface HtpasswdProblem {
  line: number;
  message: string;
}

/** What kind of hash a non-bcrypt value is, for the message. */
export function hashKind(hash: string): string {
  if (hash.startsWith('$apr1$')) return 'an MD5 ($apr1$) hash';
  if (hash.startsWith('{SHA}')) return 'a SHA-1 ({SHA}) hash';
  if (hash.startsWith('$1$')) return 'an MD5-crypt ($1$) hash';
  if (hash.startsWith('$5$') || hash.startsWith('$6$')) return `a SHA-crypt (${hash.slice(0, 3)}) hash`;
  if (hash.startsWith('$2')) return 'a malformed bcrypt hash';
  if (/^[./A-Za-z0-9]{13}$/.test(hash)) return 'a DES crypt hash';
  return 'not a bcrypt hash (plain text?)';
}

export function parseHtpasswd(text: string): { users: Record<string, string>; problems: HtpasswdProblem[] } {
  const users: Record<string, string> = {};
  const problems: HtpasswdProblem[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    if (colon <= 0) {
      problems.push({ line: i + 1, message: 'expected user:hash' });
      return;
    }
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (!BCRYPT.test(hash)) {
      problems.push({ line: i + 1, message: `user "${user}": ${hashKind(hash)}; edge takes bcrypt hashes only (htpasswd -B)` });
    } else if (user in users) {
      problems.push({ line: i + 1, message: `user "${user}" is listed twice` });
    } else {
      users[user] = hash;
    }
  });
  return { users, problems };
}
