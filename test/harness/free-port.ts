import net from 'node:net';

// Servers we spawn (mariadbd, redis-server) cannot bind port 0 and report
// back, so ask the kernel for a free ephemeral port and hand it over. Another
// process may grab it in between; callers retry on "address in use".
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
