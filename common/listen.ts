// Opening a process's listening socket, shared by the app, producer, mirror
// and proxy. The failure an operator meets most at start (the port is taken,
// or a low port needs a privilege) is named with the component and the
// variable to change, instead of a bare `listen EADDRINUSE 127.0.0.1:8081`.
import type { Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { HyperstaticError } from './errors';

export interface ListenTarget {
  /** 0: any free port. */
  readonly port: number;
  readonly host: string;
  /** Who is listening, as an operator knows it: "mirror", "cache proxy"… */
  readonly component: string;
  /** The configuration variable that sets the port (common/config.ts). */
  readonly portVariable: string;
}

export class ListenError extends HyperstaticError {
  constructor(message: string, cause: unknown) {
    super('HS_LISTEN_FAILED', 500, message, { cause });
  }
}

/** Starts `server` listening and resolves with the address it got. */
export async function listen(server: Server, target: ListenTarget): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => reject(listenError(error, target));
    server.once('error', onError);
    server.listen(target.port, target.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  return server.address() as AddressInfo;
}

/** A URL for reaching a listening address from this host: a wildcard bind is reached over loopback. */
export function localUrl(address: AddressInfo): string {
  const host = address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

function listenError(error: NodeJS.ErrnoException, target: ListenTarget): Error {
  const where = `${target.host}:${target.port}`;
  const change = `set ${target.portVariable} to another port`;
  if (error.code === 'EADDRINUSE')
    return new ListenError(`the ${target.component} cannot listen on ${where}: the port is in use (${change})`, error);
  if (error.code === 'EACCES')
    return new ListenError(
      `the ${target.component} may not listen on ${where}: ports below 1024 need CAP_NET_BIND_SERVICE (${change}, or grant the capability)`,
      error,
    );
  if (error.code === 'EADDRNOTAVAIL')
    return new ListenError(
      `the ${target.component} cannot listen on ${where}: this host has no such address (set BIND_HOST to one of its addresses)`,
      error,
    );
  return new ListenError(`the ${target.component} cannot listen on ${where}: ${error.message}`, error);
}
