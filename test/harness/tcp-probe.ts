/** Whether a server the harness started (coturn, mosquitto) is up yet: something accepts a TCP connection on its port. */
import { createConnection } from "node:net";

/** Resolves true once a connection to 127.0.0.1:port is accepted (then closed), false when it is refused. */
export function acceptsTcp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => {
      resolve(false);
    });
  });
}
