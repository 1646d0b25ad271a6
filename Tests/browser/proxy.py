"""A TCP proxy in front of the broker for the browser tests and the media benchmark: the
test can cut its connections (RST, like a network change), stall what the broker sends (a
receiver whose network stops), or hold it to a bit rate (a slow mobile link)."""
import socket
import struct
import threading
import time


class Proxy:
    def __init__(self, target_port, downstream_bps=None, buffer=None):
        """`downstream_bps`: a ceiling on what reaches the client; `buffer`: the socket buffers
        (bytes) toward the broker and the client, small for a link with a short queue."""
        self.target = target_port
        self.downstream_bps = downstream_bps
        self.buffer = buffer
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        self.flowing = threading.Event()
        self.flowing.set()
        self.refusing = threading.Event()
        self.connections = []
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if self.refusing.is_set():
                # The network is down: the connection is reset at once.
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()
                continue
            upstream = socket.socket()
            if self.buffer:
                upstream.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.buffer)
                client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.buffer)
            upstream.connect(("127.0.0.1", self.target))
            with self.lock:
                self.connections += [client, upstream]
            threading.Thread(target=self.pipe, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self.pipe, args=(upstream, client, True), daemon=True).start()

    def pipe(self, source, destination, downstream):
        limited = downstream and self.downstream_bps
        try:
            while True:
                if downstream:
                    self.flowing.wait()
                data = source.recv(4096 if limited else 65536)
                if not data:
                    break
                destination.sendall(data)
                if limited:
                    time.sleep(len(data) * 8 / self.downstream_bps)
        except OSError:
            pass
        for sock in (source, destination):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stall(self):
        """Stops passing on what the broker sends, until resume()."""
        self.flowing.clear()

    def resume(self):
        self.flowing.set()

    def refuse(self, refusing=True):
        """While refusing, every new connection is reset as soon as it is accepted."""
        if refusing:
            self.refusing.set()
        else:
            self.refusing.clear()

    def cut(self):
        """Resets every open connection (RST, no close handshake)."""
        with self.lock:
            connections, self.connections = self.connections, []
        for sock in connections:
            try:
                # Wake the thread blocked reading it, then close with RST.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.shutdown(socket.SHUT_RD)
                sock.close()
            except OSError:
                pass

    def close(self):
        self.flowing.set()
        self.server.close()
        self.cut()
