// What readers connect to: the plain-HTTP listener (PROXY_PORT), serving the
// cache or, with PROXY_HTTP_REDIRECT, redirecting to HTTPS; and the HTTPS
// listener (PROXY_TLS_PORT) when certificates are configured. Certificates
// are read before any port is opened, so a bad one stops the start with a
// message naming its variable.
import type { Config } from '../common/config';
import type { Logger } from '../common/logger';
import { listenRedirect } from './https-redirect';
import { listenProxy, type ClientLimits } from './http-server';
import type { RequestHandler } from './request-handler';
import { listenTls, type TlsListener } from './tls-listener';

export interface PublicListeners {
  /** The plain-HTTP listener's URL. */
  readonly url: string;
  /** The HTTPS listener's URL, when PROXY_TLS_PORT is set. */
  readonly tlsUrl?: string;
  /**
   * Reads the certificate files again for new handshakes (SIGHUP). A bad
   * file keeps the certificates in use, and says why in the log.
   */
  reloadTls(): void;
  close(): Promise<void>;
}

export async function listenPublic(
  config: Config,
  handler: RequestHandler,
  logger: Logger,
  limits: ClientLimits,
): Promise<PublicListeners> {
  const tls: TlsListener | undefined =
    config.proxyTlsPort === undefined
      ? undefined
      : await listenTls(
          handler,
          { certFiles: config.proxyTlsCert, keyFiles: config.proxyTlsKey, dir: config.proxyTlsCertDir },
          config.proxyTlsPort,
          config.bindHost,
          limits,
        );
  let plain: { url: string; close(): Promise<void> };
  try {
    plain =
      config.proxyHttpRedirect && tls
        ? await listenRedirect({
            port: config.proxyPort,
            host: config.bindHost,
            // The port readers reach HTTPS on; with PROXY_TLS_PORT=0 (tests), the one the listener got.
            httpsPort: Number(new URL(tls.url).port || 443),
            acmeWebroot: config.proxyAcmeWebroot,
          })
        : await listenProxy(handler, config.proxyPort, config.bindHost, limits);
  } catch (error) {
    await tls?.close();
    throw error;
  }
  if (tls) logCertificates(logger, tls, 'TLS certificates loaded');
  return {
    url: plain.url,
    tlsUrl: tls?.url,
    reloadTls() {
      if (!tls) return;
      try {
        tls.reload();
        logCertificates(logger, tls, 'TLS certificates reloaded; new connections get them');
      } catch (error) {
        logger.error(
          { err: { message: (error as Error).message }, kept: tls.current().certificates.map((c) => c.certFile) },
          `TLS certificates not reloaded, keeping the ones in use: ${(error as Error).message}`,
        );
      }
    },
    close: () => Promise.all([plain.close(), tls?.close()]).then(() => undefined),
  };
}

function logCertificates(logger: Logger, tls: TlsListener, message: string): void {
  logger.info(
    {
      certificates: tls.current().certificates.map((c) => ({
        file: c.certFile,
        names: c.names,
        notAfter: c.notAfter,
        sha256: c.fingerprint256,
      })),
    },
    message,
  );
}
