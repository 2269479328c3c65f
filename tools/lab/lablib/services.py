"""The services of the server namespace: where each answers, under which
names, and how each real server is configured and started.

Names are those real services use, so that SNI, Host and XMPP's stream
header look to deep packet inspection as they do on the Internet."""
import os
import pwd
import shutil
import subprocess

from . import media

# key: (address, names, certificate key type, HTTP/2)
SERVICES = {
    "hls_edge_h2":  ("10.200.1.10", ["video-weaver.fra05.hls.ttvnw.net"], "ec", True),
    "hls_edge_h1":  ("10.200.1.11", ["video-weaver.ams03.hls.ttvnw.net"], "ec", False),
    "hls_page":     ("10.200.1.12", ["player.twitch.tv"], "ec", True),
    "dash_edge_h2": ("10.200.1.20", ["rr3---sn-5hne6nzk.googlevideo.com"], "ec", True),
    "dash_edge_h1": ("10.200.1.21", ["rr1---sn-4g5edn6r.googlevideo.com"], "ec", False),
    "dash_page":    ("10.200.1.22", ["www.youtube.com"], "ec", True),
    "site_ref":     ("10.200.1.30", ["www.debian.org"], "rsa", True),
    "site_handbook": ("10.200.1.31", ["debian-handbook.info"], "rsa", True),
    "site_python":  ("10.200.1.32", ["docs.python.org"], "rsa", True),
    "site_apache":  ("10.200.1.33", ["httpd.apache.org"], "rsa", True),
    # what pages pull from elsewhere, as most of the web's pages do
    "tp_fonts_css": ("10.200.1.100", ["fonts.googleapis.com"], "ec", True),
    "tp_fonts":     ("10.200.1.101", ["fonts.gstatic.com"], "ec", True),
    "tp_cdnjs":     ("10.200.1.102", ["cdnjs.cloudflare.com"], "ec", True),
    "tp_gtm":       ("10.200.1.103", ["www.googletagmanager.com"], "ec", True),
    "tp_ga":        ("10.200.1.104", ["www.google-analytics.com"], "ec", True),
    "tp_ads":       ("10.200.1.105", ["securepubads.g.doubleclick.net"], "ec", True),
    "download":     ("10.200.1.40", ["cdimage.debian.org"], "rsa", False),
    "upload":       ("10.200.1.41", ["content.dropboxapi.com"], "ec", True),
    "ssh":          ("10.200.1.50", ["storage.lab.example"], None, False),
    "ftps":         ("10.200.1.60", ["ftp.example.org"], "rsa", False),
    "xmpp":         ("10.200.1.70", ["conversations.im"], "rsa", False),
    "irc":          ("10.200.1.80", ["irc.libera.chat"], "ec", False),
    "sip":          ("10.200.1.90", ["sip.linphone.org"], None, False),
    "webrtc":       ("10.200.1.91", ["webrtc.lab.example"], None, False),
}


def addr(key):
    return SERVICES[key][0]


def name(key):
    return SERVICES[key][1][0]


def hosts_file():
    lines = ["127.0.0.1 localhost"]
    for a, names, _, _ in SERVICES.values():
        lines.append(f"{a} {' '.join(names)}")
    return "\n".join(lines) + "\n"


class Servers:
    """Writes the servers' configurations under RUN/srv and starts them in
    the server namespace (each in a process group, stopped by stop())."""

    def __init__(self, lab, pki, run_dir, procs):
        self.lab, self.pki, self.procs = lab, pki, procs
        self.dir = os.path.join(run_dir, "srv")
        self.log = os.path.join(run_dir, "log")
        os.makedirs(self.dir, exist_ok=True)
        os.makedirs(self.log, exist_ok=True)
        self.certs = {}

    def make_certs(self):
        self.pki.make_authority()
        for key, (_, names, kind, _) in SERVICES.items():
            if kind:
                self.certs[key] = self.pki.leaf(key, names, kind)

    def start(self, media_dir, site_roots, files_dir):
        self._nginx(media_dir, site_roots, files_dir)
        self._sshd()
        self._vsftpd(files_dir)
        self._prosody()
        self._ngircd()

    def _run(self, name, argv):
        self.procs.spawn(name, self.lab.server, argv, log=os.path.join(self.log, f"{name}.log"))

    # --- nginx: video edges and pages, web sites, downloads and uploads
    def _nginx(self, media_dir, site_roots, files_dir):
        d = os.path.join(self.dir, "nginx")
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi", "uploads"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        self.uploads = os.path.join(d, "uploads")
        servers = []

        def server(key, body):
            a, names, _, h2 = SERVICES[key]
            crt_key, chain = self.certs[key]
            servers.append(f"""
  server {{
    listen {a}:443 ssl{' http2' if h2 else ''};
    server_name {' '.join(names)};
    ssl_certificate {chain};
    ssl_certificate_key {crt_key};
{body}
  }}""")
        cors = "    add_header Access-Control-Allow-Origin * always;\n"
        for key in ("hls_edge_h2", "hls_edge_h1"):
            server(key, cors + f"    root {media_dir}/hls;\n")
        for key in ("dash_edge_h2", "dash_edge_h1"):
            server(key, cors + f"    root {media_dir}/dash;\n")
        for key in ("hls_page", "dash_page"):
            server(key, f"    root {media_dir}/pages;\n    location /npm/ {{ alias {media_dir}/npm/; }}\n")
        for key, root in site_roots.items():
            head, body = media.third_party_tags(key)
            server(key, f"""    root {root};
    index index.html index.en.html;
    sub_filter_once on;
    sub_filter '</head>' '{head}</head>';
    sub_filter '</body>' '{body}</body>';
""")
        tp = media.third_party_tree(self.dir)
        server("tp_fonts_css", cors + f"    root {tp}/fonts-css;\n    default_type text/css;\n"
               "    location / { try_files /css.css =404; }\n")
        server("tp_fonts", cors + f"    root {tp}/fonts;\n")
        server("tp_cdnjs", cors + f"    root {tp}/cdnjs;\n")
        server("tp_gtm", f"    root {tp}/gtm;\n    default_type application/javascript;\n"
               "    location / { try_files /gtag.js =404; }\n")
        server("tp_ga", cors + "    location / { return 204; }\n")
        server("tp_ads", f"    root {tp}/ads;\n")
        server("download", f"    root {files_dir};\n")
        server("upload", f"""    root {self.uploads};
    client_max_body_size 0;
    location / {{ dav_methods PUT DELETE; create_full_put_path on; }}
""")
        conf = f"""user root;
worker_processes 2;
daemon off;
pid {d}/nginx.pid;
error_log {self.log}/nginx.error warn;
events {{ worker_connections 8192; }}
http {{
  include /etc/nginx/mime.types;
  types {{ application/vnd.apple.mpegurl m3u8; video/mp2t ts; application/dash+xml mpd; video/iso.segment m4s; }}
  access_log {self.log}/nginx.access;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 75s;
  keepalive_requests 10000;
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_session_cache shared:lab:10m;
  gzip on;
  gzip_types text/css application/javascript text/plain application/xml;
{''.join(servers)}
}}
"""
        path = os.path.join(d, "nginx.conf")
        with open(path, "w") as f:
            f.write(conf)
        self._run("nginx", ["nginx", "-c", path, "-p", d, "-e", f"{self.log}/nginx.error"])

    # --- OpenSSH: scp, sftp, rsync over ssh
    def _sshd(self):
        d = os.path.join(self.dir, "ssh")
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o700)
        for t in ("ed25519", "rsa", "ecdsa"):
            k = os.path.join(d, f"host_{t}")
            if not os.path.exists(k):
                subprocess.run(["ssh-keygen", "-q", "-t", t, "-N", "", "-f", k], check=True)
        ck = os.path.join(d, "client_key")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", ck], check=True)
        shutil.copy(ck + ".pub", os.path.join(d, "authorized_keys"))
        self.ssh_client_key = ck
        a = addr("ssh")
        with open(os.path.join(d, "known_hosts"), "w") as out:
            for t in ("ed25519", "rsa", "ecdsa"):
                with open(os.path.join(d, f"host_{t}.pub")) as f:
                    kt, blob = f.read().split()[:2]
                out.write(f"{name('ssh')},{a} {kt} {blob}\n")
        self.ssh_known_hosts = os.path.join(d, "known_hosts")
        self.ssh_root = os.path.join(self.dir, "ssh-files")
        os.makedirs(self.ssh_root, exist_ok=True)
        conf = os.path.join(d, "sshd_config")
        with open(conf, "w") as f:
            f.write(f"""ListenAddress {a}
HostKey {d}/host_ed25519
HostKey {d}/host_rsa
HostKey {d}/host_ecdsa
PidFile {d}/sshd.pid
AuthorizedKeysFile {d}/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxStartups 200:30:400
MaxSessions 50
Subsystem sftp /usr/lib/openssh/sftp-server
""")
        os.makedirs("/run/sshd", exist_ok=True)
        self._run("sshd", ["/usr/sbin/sshd", "-D", "-e", "-f", conf])

    # --- vsftpd: FTPS (explicit TLS), anonymous, uploads allowed
    def _vsftpd(self, files_dir):
        d = os.path.join(self.dir, "ftp")
        root = os.path.join(d, "root")
        os.makedirs(os.path.join(root, "upload"), exist_ok=True)
        ftp = pwd.getpwnam("ftp")
        os.chmod(root, 0o755)
        os.chown(os.path.join(root, "upload"), ftp.pw_uid, ftp.pw_gid)
        pub = os.path.join(root, "pub")
        if not os.path.exists(pub):
            os.symlink(files_dir, pub)   # vsftpd follows it: the download files
        self.ftp_root = root
        key, chain = self.certs["ftps"]
        a = addr("ftps")
        conf = os.path.join(d, "vsftpd.conf")
        os.makedirs("/var/run/vsftpd/empty", exist_ok=True)
        with open(conf, "w") as f:
            f.write(f"""listen=YES
listen_ipv6=NO
listen_address={a}
background=NO
anonymous_enable=YES
anon_root={root}
no_anon_password=YES
local_enable=NO
write_enable=YES
anon_upload_enable=YES
anon_other_write_enable=YES
anon_umask=022
ssl_enable=YES
allow_anon_ssl=YES
force_anon_logins_ssl=YES
force_anon_data_ssl=YES
require_ssl_reuse=NO
ssl_ciphers=HIGH
rsa_cert_file={chain}
rsa_private_key_file={key}
pasv_enable=YES
pasv_min_port=40000
pasv_max_port=44999
pasv_address={a}
secure_chroot_dir=/var/run/vsftpd/empty
vsftpd_log_file={self.log}/vsftpd.xfer
xferlog_enable=YES
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
max_clients=500
max_per_ip=50
""")
        self._run("vsftpd", ["vsftpd", conf])

    # --- Prosody: XMPP, STARTTLS on 5222 and direct TLS on 5223
    def _prosody(self):
        d = os.path.join(self.dir, "prosody")
        self.prosody_data = os.path.join(d, "data")
        os.makedirs(self.prosody_data, exist_ok=True)
        key, chain = self.certs["xmpp"]
        host = name("xmpp")
        conf = os.path.join(d, "prosody.cfg.lua")
        with open(conf, "w") as f:
            f.write(f"""run_as_root = true
pidfile = "{d}/prosody.pid"
data_path = "{self.prosody_data}"
log = {{ warn = "{self.log}/prosody.log" }}
interfaces = {{ "{addr('xmpp')}" }}
c2s_ports = {{ 5222 }}
c2s_direct_tls_ports = {{ 5223 }}
modules_enabled = {{ "roster"; "saslauth"; "tls"; "disco"; "carbons"; "pep"; "private";
  "vcard4"; "vcard_legacy"; "version"; "uptime"; "time"; "ping"; "blocklist";
  "smacks"; "csi_simple"; "mam" }}
modules_disabled = {{ "s2s"; "posix" }}
authentication = "internal_plain"
c2s_require_encryption = true
allow_registration = false
limits = {{ c2s = {{ rate = "100kb/s" }} }}
ssl = {{ certificate = "{chain}"; key = "{key}" }}
VirtualHost "{host}"
Component "conference.{host}" "muc"
""")
        self.prosody_conf = conf
        self._run("prosody", ["prosody", "--config", conf, "-F"])

    def xmpp_accounts(self, users, rosters):
        """Accounts and rosters written as prosody's internal_plain store keeps them."""
        host = name("xmpp").replace(".", "%2e")
        acc = os.path.join(self.prosody_data, host, "accounts")
        ros = os.path.join(self.prosody_data, host, "roster")
        os.makedirs(acc, exist_ok=True)
        os.makedirs(ros, exist_ok=True)
        for u, pw in users:
            with open(os.path.join(acc, f"{u}.dat"), "w") as f:
                f.write(f'return {{\n\t["password"] = "{pw}";\n}};\n')
        for u, contacts in rosters.items():
            with open(os.path.join(ros, f"{u}.dat"), "w") as f:
                f.write("return {\n\t[false] = { [\"version\"] = 1; };\n")
                for c in contacts:
                    f.write(f'\t["{c}"] = {{ ["subscription"] = "both"; ["groups"] = {{}}; }};\n')
                f.write("};\n")

    # --- ngIRCd: IRC over TLS on 6697
    def _ngircd(self):
        d = os.path.join(self.dir, "ngircd")
        os.makedirs(d, exist_ok=True)
        key, chain = self.certs["irc"]
        motd = os.path.join(d, "motd")
        with open(motd, "w") as f:
            f.write("Welcome to the odeflow lab's IRC network.\n"
                    "Be nice, stay on topic, and do not flood the channels.\n")
        conf = os.path.join(d, "ngircd.conf")
        with open(conf, "w") as f:
            f.write(f"""[Global]
Name = {name('irc')}
Info = odeflow lab IRC
Listen = {addr('irc')}
Ports = 6667
PidFile = {d}/ngircd.pid
MotdFile = {motd}
[Limits]
MaxConnections = 4000
MaxConnectionsIP = 0
MaxJoins = 20
PingTimeout = 120
PongTimeout = 20
[Options]
DNS = no
Ident = no
PAM = no
[SSL]
CertFile = {chain}
KeyFile = {key}
Ports = 6697
""")
        self._run("ngircd", ["ngircd", "-n", "-f", conf])
