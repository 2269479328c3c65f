"""The lab's certificate authority: a root, an intermediate (servers send a
chain, as real ones do) and one leaf per service, RSA or ECDSA as the
service's real counterpart tends to use. Clients trust the root only."""
import os
import subprocess


def _ossl(*args, cwd):
    r = subprocess.run(["openssl", *args], cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {args[0]}: {r.stderr.strip()}")


def _key(path, kind, cwd):
    if kind == "ec":
        _ossl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path, cwd=cwd)
    else:
        _ossl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path, cwd=cwd)


class Pki:
    def __init__(self, d):
        self.dir = d
        os.makedirs(d, exist_ok=True)
        self.root = os.path.join(d, "root.pem")

    def make_authority(self):
        d = self.dir
        _key("root.key", "ec", d)
        _ossl("req", "-x509", "-new", "-key", "root.key", "-days", "30", "-subj",
              "/O=odeflow lab/CN=odeflow lab root", "-addext", "basicConstraints=critical,CA:true",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", "root.pem", cwd=d)
        _key("inter.key", "rsa", d)
        _ossl("req", "-new", "-key", "inter.key", "-subj", "/O=odeflow lab/CN=odeflow lab issuing CA",
              "-out", "inter.csr", cwd=d)
        with open(os.path.join(d, "inter.ext"), "w") as f:
            f.write("basicConstraints=critical,CA:true,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n")
        _ossl("x509", "-req", "-in", "inter.csr", "-CA", "root.pem", "-CAkey", "root.key",
              "-CAcreateserial", "-days", "30", "-extfile", "inter.ext", "-out", "inter.pem", cwd=d)

    def leaf(self, name, sans, kind):
        """Writes NAME.key and NAME.chain.pem (leaf then intermediate); returns their paths."""
        d = self.dir
        _key(f"{name}.key", kind, d)
        _ossl("req", "-new", "-key", f"{name}.key", "-subj", f"/CN={sans[0]}", "-out", f"{name}.csr", cwd=d)
        with open(os.path.join(d, f"{name}.ext"), "w") as f:
            f.write("basicConstraints=CA:false\nextendedKeyUsage=serverAuth\n")
            f.write("subjectAltName=" + ",".join(f"DNS:{s}" for s in sans) + "\n")
        _ossl("x509", "-req", "-in", f"{name}.csr", "-CA", "inter.pem", "-CAkey", "inter.key",
              "-CAcreateserial", "-days", "30", "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=d)
        with open(os.path.join(d, f"{name}.chain.pem"), "w") as out:
            for p in (f"{name}.pem", "inter.pem"):
                with open(os.path.join(d, p)) as f:
                    out.write(f.read())
        return os.path.join(d, f"{name}.key"), os.path.join(d, f"{name}.chain.pem")

    def nssdb(self, home):
        """A Chromium NSS database under HOME trusting the lab root."""
        db = os.path.join(home, ".pki", "nssdb")
        os.makedirs(db, exist_ok=True)
        subprocess.run(["certutil", "-N", "-d", f"sql:{db}", "--empty-password"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["certutil", "-A", "-d", f"sql:{db}", "-n", "odeflow lab root", "-t", "C,,",
                        "-i", self.root], check=True)
        return db
