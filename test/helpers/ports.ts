/** The one free-port helper: a loopback port that nobody listens on right now. */
import net from 'node:net';

/**
 * A free port on 127.0.0.1, found by listening on port 0 and closing again. Use it to start a
 * server on a known port, or as a port where nothing answers ("the provider is down").
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
