// The reference for the fan-out benchmark: the plainest broadcast server node and the `ws`
// package make. Sockets connect anywhere; whatever is POSTed to /publish goes to every socket.
//
//   node bench/reference/broadcast.mjs    prints "listening on <port>" (a free loopback port)
import { createServer } from "node:http";
import { WebSocketServer } from "ws";

const sockets = new WebSocketServer({ noServer: true });
const server = createServer((request, response) => {
  if (request.method !== "POST" || request.url !== "/publish") {
    response.writeHead(404).end();
    return;
  }
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    const message = Buffer.concat(chunks).toString();
    for (const socket of sockets.clients) socket.send(message);
    response.writeHead(204).end();
  });
});
server.on("upgrade", (request, socket, head) => {
  sockets.handleUpgrade(request, socket, head, (websocket) => sockets.emit("connection", websocket));
});
server.listen(0, "127.0.0.1", () => console.log(`listening on ${server.address().port}`));
process.on("SIGTERM", () => process.exit(0));
