// Where managed certificates live in storage: a folder per name under the CA that issued them
// (the ACME directory's id, or "local"), holding cert.pem, key.pem and the attempt ledger, and the
// lock name that makes one process at a time obtain a name's certificate.

import type { Logger } from '../ops/log.ts';
import type { Storage } from './storage/storage.ts';
import { describeCertificate, type ServedCertificate } from './context.ts';
import { nameFolder, type CertSource } from './plan.ts';

/** What the store needs to know of a managed certificate. */
export interface Stored {
  name: string;
  source: CertSource['kind'];
}

export interface Issued {
  certPem: string;
  keyPem: string;
}

export class CertStore {
  readonly storage: Storage;
  private readonly acmeId: string | undefined;
  private readonly logger: Logger;
  private readonly onStored: ((name: string) => void) | undefined;

  constructor(storage: Storage, acmeId: string | undefined, logger: Logger, onStored?: (name: string) => void) {
    this.storage = storage;
    this.acmeId = acmeId;
    this.logger = logger;
    this.onStored = onStored;
  }

  /** The stored certificate, or undefined when there is none or it cannot be read (said in the log). */
  async load(c: Stored): Promise<ServedCertificate | undefined> {
    const [cert, key] = await Promise.all([this.storage.get(`${this.folder(c)}/cert.pem`), this.storage.get(`${this.folder(c)}/key.pem`)]);
    if (!cert || !key) return undefined;
    try {
      return describeCertificate(cert.toString(), key.toString());
    } catch (err) {
      this.logger.warn(`certificate ${c.name}: stored copy in ${this.storage.description} is unreadable (${(err as Error).message}); obtaining a new one`);
      return undefined;
    }
  }

  async save(c: Stored, issued: Issued): Promise<void> {
    await this.storage.put(`${this.folder(c)}/key.pem`, issued.keyPem);
    await this.storage.put(`${this.folder(c)}/cert.pem`, issued.certPem);
    this.onStored?.(c.name);
  }

  ledgerKey(c: Stored): string {
    return `${this.folder(c)}/ledger.json`;
  }

  lockName(c: Stored): string {
    return `issue-${this.folder(c).replace('/', '-')}`;
  }

  private folder(c: Stored): string {
    return `${c.source === 'acme' ? this.acmeId : 'local'}/${nameFolder(c.name)}`;
  }
}
