"""VoIP: a WebRTC audio call (aiortc at both ends) and a SIP call (baresip to
baresip). The caller sits in a session namespace, the callee in the server
namespace; each call says a synthesised conversation."""
import os

from . import services
from .session import PY


def _calls(s):
    return 1 if s.rng.random() < 0.7 else s.rng.randint(2, 3)


def webrtc(s):
    ep = s.endpoint()
    steps = []
    for _ in range(_calls(s)):
        if s.ctx.remaining() < 30:
            break
        secs = s.seconds(10, 150)
        codec = s.rng.choice(["opus", "opus", "opus", "PCMU", "PCMA"])
        a, b = s.ctx.conversation(s.rng, 48000)
        port = str(s.ctx.next_port())
        callee = s.spawn_server([PY, s.tool("webrtc_call.py"), "callee", services.addr("webrtc"), port,
                                 b, str(secs)])
        caller = s.spawn(ep, [PY, s.tool("webrtc_call.py"), "caller", services.addr("webrtc"), port,
                              a, str(secs), codec])
        s.wait([caller, callee], secs + 60)
        steps.append(f"{codec}/{int(secs)}s")
        s.pause(s.rng.uniform(2, 20))
    s.scenario = "webrtc " + " ".join(steps)


# (G.722 is left out: baresip 1.0 matches it at the SDP's 8000 Hz and finds no codec)
BARESIP_CODECS = {"opus": "opus.so", "PCMU": "g711.so", "PCMA": "g711.so", "GSM": "gsm.so"}


def _baresip_conf(d, listen, wav, codec, ptime, opus_kbit, account):
    os.makedirs(d, exist_ok=True)
    mods = sorted(set(BARESIP_CODECS.values()))
    with open(os.path.join(d, "config"), "w") as f:
        f.write(f"""poll_method epoll
sip_listen {listen}
module_path /usr/lib/baresip/modules
""" + "".join(f"module {m}\n" for m in mods) + f"""module aufile.so

module_app account.so
module_app menu.so
audio_source aufile,{wav}


rtp_ports 10000-60000
rtcp_mux no
jitter_buffer_delay 5-10
opus_bitrate {opus_kbit * 1000}
""")
    with open(os.path.join(d, "accounts"), "w") as f:
        # opus by its full name: baresip matches "opus" alone to nothing and
        # offers every codec instead
        name = "opus/48000/2" if codec == "opus" else codec
        f.write(account + f";audio_codecs={name};ptime={ptime}\n")
    with open(os.path.join(d, "contacts"), "w") as f:
        f.write("")


def baresip(s):
    ep = s.endpoint()
    steps = []
    for i in range(_calls(s)):
        if s.ctx.remaining() < 30:
            break
        secs = s.seconds(10, 150)
        codec = s.rng.choice(list(BARESIP_CODECS))
        ptime = 20 if codec in ("opus", "GSM") else s.rng.choice([20, 30])
        opus_kbit = s.rng.choice([12, 16, 24, 32, 48, 64])
        rate = 48000 if codec == "opus" else 8000    # aufile wants the codec's rate
        a, b = s.ctx.conversation(s.rng, rate)
        port = s.ctx.next_port()
        srv = services.addr("sip")
        callee_dir, caller_dir = s.tmp(f"callee{i}"), s.tmp(f"caller{i}")
        _baresip_conf(callee_dir, f"{srv}:{port}", b, codec, ptime, opus_kbit,
                      f"<sip:callee@{srv}:{port}>;regint=0;answermode=auto")
        _baresip_conf(caller_dir, f"{ep.addr}:5060", a, codec, ptime, opus_kbit,
                      f"<sip:caller@{ep.addr}>;regint=0")
        callee = s.spawn_server(["baresip", "-4", "-f", callee_dir, "-t", str(int(secs) + 30)])
        s.pause(1.0)
        caller = s.spawn(ep, ["baresip", "-4", "-f", caller_dir, "-e", f"/dial sip:callee@{srv}:{port}",
                              "-t", str(int(secs))])
        s.wait([caller], secs + 20)
        s.wait([callee], 5)
        steps.append(f"{codec}/{ptime}ms/{int(secs)}s")
        s.pause(s.rng.uniform(2, 20))
    s.scenario = "sip " + " ".join(steps)


APPS = {"webrtc-aiortc": webrtc, "sip-baresip": baresip}
