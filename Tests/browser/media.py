"""Shared by the media tests and the media benchmark: test media made with ffmpeg, Chromium
with a fake camera and microphone playing them, and a TCP proxy that can stall a reader.

The camera clip is a Y4M file (what Chromium's fake capture plays, looping): ffmpeg's
testsrc2 pattern (moving shapes, colour bars, a running counter) with temporal noise, so an
encoder sees motion and texture like a real camera's, at 1280x720. The microphone is a WAV
tone at a known frequency, so the other page can tell what it hears.
"""
import os
import shutil
import socket
import subprocess
import threading
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service


def make_media(directory, fps=15, seconds=2):
    """Writes (once) the camera clip and two tones into `directory`; returns their paths."""
    os.makedirs(directory, exist_ok=True)
    video = os.path.join(directory, f"camera-720p-{fps}fps.y4m")
    if not os.path.exists(video):
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate={fps}",
                        "-vf", "noise=alls=8:allf=t", "-t", str(seconds), "-pix_fmt", "yuv420p", video], check=True)
    tones = {}
    for hz in (440, 660):
        path = os.path.join(directory, f"tone-{hz}.wav")
        if not os.path.exists(path):
            subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"sine=frequency={hz}:sample_rate=48000",
                            "-t", "20", "-ac", "1", path], check=True)
        tones[hz] = path
    return video, tones


def media_chromium(width, height, video=None, audio=None, no_webcodecs=False):
    """Headless Chromium whose fake camera plays `video` (Y4M) and fake microphone `audio` (WAV).
    `no_webcodecs` removes WebCodecs before any page script runs (the JPEG fallback)."""
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    arguments = [
        "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
        "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
        "--ignore-certificate-errors", f"--window-size={width},{height}",
        "--autoplay-policy=no-user-gesture-required",
    ]
    if video:
        arguments.append(f"--use-file-for-fake-video-capture={video}")
    if audio:
        arguments.append(f"--use-file-for-fake-audio-capture={audio}")
    for argument in arguments:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    driver = webdriver.Chrome(service=service, options=options)
    if no_webcodecs:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": """
            for (const name of ["VideoEncoder", "VideoDecoder", "AudioEncoder", "AudioDecoder", "EncodedVideoChunk", "EncodedAudioChunk", "VideoFrame", "AudioData"]) {
              try { delete window[name]; } catch (error) {}
            }"""})
    return driver


class StallProxy:
    """A TCP proxy to the broker that can stop reading what the broker sends (a receiver whose
    network stalls). Its sockets' buffers are small, so a stall reaches the broker quickly."""

    BUFFER = 32 * 1024

    def __init__(self, target_port, downstream_bps=None):
        self.target = target_port
        # A ceiling on what reaches the reader (bits per second), like a slow mobile link.
        self.downstream_bps = downstream_bps
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        self.flowing = threading.Event()
        self.flowing.set()
        self.sockets = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.socket()
            upstream.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.BUFFER)
            upstream.connect(("127.0.0.1", self.target))
            client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.BUFFER)
            self.sockets += [client, upstream]
            threading.Thread(target=self.pipe, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self.pipe, args=(upstream, client, True), daemon=True).start()

    def pipe(self, source, destination, downstream):
        try:
            while True:
                if downstream:
                    self.flowing.wait()
                data = source.recv(4096 if downstream and self.downstream_bps else 16384)
                if not data:
                    break
                destination.sendall(data)
                if downstream and self.downstream_bps:
                    time.sleep(len(data) * 8 / self.downstream_bps)
        except OSError:
            pass
        for sock in (source, destination):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stall(self):
        self.flowing.clear()

    def resume(self):
        self.flowing.set()

    def close(self):
        self.flowing.set()
        self.server.close()
        for sock in self.sockets:
            try:
                sock.close()
            except OSError:
                pass
