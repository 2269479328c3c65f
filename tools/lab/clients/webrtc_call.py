#!/usr/bin/python3
"""A WebRTC audio call with aiortc (ICE, DTLS-SRTP, Opus or G.711), both ends.

  webrtc_call.py callee ADDR PORT WAV SECONDS
  webrtc_call.py caller ADDR PORT WAV SECONDS CODEC
The callee waits for one offer on ADDR:PORT (a line of JSON: the signalling a
web app would carry over its own connection), answers, and both ends talk
(WAV, looped) until SECONDS pass or the other end hangs up."""
import asyncio
import json
import sys

import aioice.ice
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaBlackhole, MediaPlayer
from aiortc.rtcrtpsender import RTCRtpSender


def only_address(addr):
    # a host has one address to offer ICE here: the one the call is made from
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: [addr]


async def talk(pc, wav, seconds, closed):
    player = MediaPlayer(wav, loop=True)
    pc.addTrack(player.audio)
    sink = MediaBlackhole()

    @pc.on("track")
    def on_track(track):
        sink.addTrack(track)

    @pc.on("connectionstatechange")
    async def on_state():
        if pc.connectionState in ("failed", "closed"):
            closed.set()
    return player, sink


async def callee(addr, port, wav, seconds):
    only_address(addr)
    done = asyncio.Event()

    async def on_peer(reader, writer):
        pc = RTCPeerConnection()
        closed = asyncio.Event()
        player, sink = await talk(pc, wav, seconds, closed)
        offer = json.loads(await reader.readline())
        await pc.setRemoteDescription(RTCSessionDescription(**offer))
        await pc.setLocalDescription(await pc.createAnswer())
        writer.write((json.dumps({"sdp": pc.localDescription.sdp, "type": "answer"}) + "\n").encode())
        await writer.drain()
        await sink.start()
        try:
            await asyncio.wait_for(asyncio.wait([asyncio.ensure_future(closed.wait()),
                                                 asyncio.ensure_future(reader.read())],
                                                return_when=asyncio.FIRST_COMPLETED), seconds)
        except asyncio.TimeoutError:
            pass
        await sink.stop()
        await pc.close()
        done.set()

    server = await asyncio.start_server(on_peer, addr, port)
    async with server:
        await asyncio.wait_for(done.wait(), seconds + 60)


async def caller(addr, port, wav, seconds, codec):
    for _ in range(100):   # the callee may still be starting
        try:
            reader, writer = await asyncio.open_connection(addr, port)
            break
        except OSError:
            await asyncio.sleep(0.3)
    else:
        raise SystemExit("webrtc_call: no callee")
    only_address(writer.get_extra_info("sockname")[0])
    pc = RTCPeerConnection()
    closed = asyncio.Event()
    player, sink = await talk(pc, wav, seconds, closed)
    prefs = [c for c in RTCRtpSender.getCapabilities("audio").codecs if c.mimeType.lower() == f"audio/{codec}"]
    for t in pc.getTransceivers():
        t.setCodecPreferences(prefs)
    await pc.setLocalDescription(await pc.createOffer())
    writer.write((json.dumps({"sdp": pc.localDescription.sdp, "type": "offer"}) + "\n").encode())
    await writer.drain()
    answer = json.loads(await reader.readline())
    await pc.setRemoteDescription(RTCSessionDescription(**answer))
    await sink.start()
    try:
        await asyncio.wait_for(closed.wait(), seconds)
    except asyncio.TimeoutError:
        pass
    await sink.stop()
    await pc.close()
    writer.close()


if __name__ == "__main__":
    role, addr, port, wav, seconds = sys.argv[1:6]
    if role == "callee":
        asyncio.run(callee(addr, int(port), wav, float(seconds)))
    else:
        asyncio.run(caller(addr, int(port), wav, float(seconds), sys.argv[6]))
