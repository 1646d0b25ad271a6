"""Shared by the media tests and the media benchmark: test media made with ffmpeg, and
Chromium with a fake camera and microphone playing them.

The camera clip is a Y4M file (what Chromium's fake capture plays, looping): ffmpeg's
testsrc2 pattern (moving shapes, colour bars, a running counter) with temporal noise, so an
encoder sees motion and texture like a real camera's, at 1280x720. The microphone is a WAV
tone at a known frequency, so the other page can tell what it hears.
"""
import os
import shutil
import subprocess

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
