import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface IssuedCertificate {
  cert: string;
  key: string;
  /** PEM of the certificate, to compare with what a client was shown. */
  pem: string;
  /** Hex serial number as X509Certificate / getPeerCertificate print it. */
  serial: string;
}

export interface TestCa {
  /** The CA certificate's file and PEM: what a client trusts. */
  certFile: string;
  pem: Buffer;
  /** A certificate for 127.0.0.1/localhost (a server's) or for a client, signed by this CA. */
  issue: (name: string, options?: { client?: boolean }) => Promise<IssuedCertificate>;
}

/** A throwaway CA made with openssl in `dir`; it signs certificates for the tests' servers. */
export async function createTestCa(dir: string, name = 'ca'): Promise<TestCa> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '2',
    '-subj',
    `/CN=tusgate test ${name}`,
  ]);
  let serial = 0x1000;
  return {
    certFile,
    pem: await readFile(certFile),
    issue: async (leaf, options = {}) => {
      const key = join(dir, `${leaf}.key`);
      const csr = join(dir, `${leaf}.csr`);
      const cert = join(dir, `${leaf}.crt`);
      const ext = join(dir, `${leaf}.ext`);
      serial += 1;
      await writeFile(
        ext,
        options.client
          ? 'extendedKeyUsage=clientAuth\n'
          : 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n',
      );
      await run('openssl', [
        'req',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        csr,
        '-subj',
        `/CN=${leaf}`,
      ]);
      await run('openssl', [
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        certFile,
        '-CAkey',
        keyFile,
        '-set_serial',
        String(serial),
        '-days',
        '2',
        '-extfile',
        ext,
        '-out',
        cert,
      ]);
      return {
        cert,
        key,
        pem: await readFile(cert, 'utf8'),
        serial: serial.toString(16).toUpperCase(),
      };
    },
  };
}
