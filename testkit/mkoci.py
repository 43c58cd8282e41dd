#!/usr/bin/python3
"""mkoci.py - write the test images of mkimages.sh into one OCI image layout.

  mkoci.py [--set test|big] --rootfs DIR --layout DIR --plan FILE [--marker DIR]

Called by mkimages.sh (which documents what each image is for); --set big
writes bench/pull.sh's benchmark images instead of the test images.  --rootfs is
a busybox root made by mkrootfs.sh.  Writes the OCI image layout (image-spec
image-layout.md: oci-layout, index.json, blobs/sha256/) with one ref per
image and tag, and FILE, the push plan: one line per image,

  REF<TAB>REPOSITORY:TAG<TAB>HOW

where HOW is how mkimages.sh copies it: "oci" (as is), "v2s2" (converted to
Docker schema 2), "all" (an index and all its images, as they are) or
"all-v2s2" (an index and its images converted to a Docker manifest list of
Docker schema 2 images).

Everything is deterministic (fixed mtimes, owners, gzip headers), so the
same inputs give the same digests.  The bombs are written without holding
their expanded size anywhere: BOX_TEST_BOMB_SIZE (bytes, default 3 GiB) and
BOX_TEST_BOMB_ENTRIES (default 1000000) set their size.  stdlib only.
"""
import argparse
import concurrent.futures
import gzip
import hashlib
import io
import json
import os
import random
import subprocess
import tarfile
import zlib

MTIME = 1700000000  # 2023-11-14: every file's mtime unless a test needs another
CREATED = "2023-11-14T22:13:20Z"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
RECORD = 10240  # tar's record size: the archive ends padded to it

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
LAYER_GZIP = LAYER_TAR + "+gzip"
LAYER_ZSTD = LAYER_TAR + "+zstd"


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def dumps(obj):
    return json.dumps(obj, indent=2, sort_keys=False).encode()


class Layout:
    """An OCI image layout being written: blobs plus named refs."""

    def __init__(self, path):
        self.path = path
        self.blobs = os.path.join(path, "blobs", "sha256")
        os.makedirs(self.blobs, exist_ok=True)
        self.refs = []

    def blob_path(self, digest):
        return os.path.join(self.blobs, digest.split(":", 1)[1])

    def put(self, data, media_type):
        digest = sha256(data)
        path = self.blob_path(digest)
        if not os.path.exists(path):
            with open(path + ".tmp", "wb") as f:
                f.write(data)
            os.rename(path + ".tmp", path)
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def put_json(self, obj, media_type):
        return self.put(dumps(obj), media_type)

    def tag(self, ref, desc):
        d = dict(desc)
        d["annotations"] = {"org.opencontainers.image.ref.name": ref}
        self.refs.append(d)

    def save(self):
        with open(os.path.join(self.path, "oci-layout"), "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self.refs}
        with open(os.path.join(self.path, "index.json"), "wb") as f:
            f.write(dumps(index))


class Tar:
    """A layer's tar stream, built entry by entry (PAX format, for xattrs)."""

    def __init__(self):
        self.buf = io.BytesIO()
        self.tf = tarfile.open(fileobj=self.buf, mode="w", format=tarfile.PAX_FORMAT)

    def add(self, name, kind, data=b"", mode=0o644, mtime=MTIME, uid=0, gid=0,
            link="", xattrs=None, dev=(0, 0)):
        ti = tarfile.TarInfo(name)
        ti.type = kind
        ti.mode = mode
        ti.mtime = mtime
        ti.uid, ti.gid = uid, gid
        ti.uname = ti.gname = ""
        ti.linkname = link
        ti.devmajor, ti.devminor = dev
        if xattrs:
            ti.pax_headers = {"SCHILY.xattr." + k: v for k, v in xattrs.items()}
        ti.size = len(data) if kind == tarfile.REGTYPE else 0
        self.tf.addfile(ti, io.BytesIO(data) if ti.size else None)
        return self

    def file(self, name, data=b"", mode=0o644, **kw):
        return self.add(name, tarfile.REGTYPE, data, mode, **kw)

    def dir(self, name, mode=0o755, **kw):
        return self.add(name, tarfile.DIRTYPE, mode=mode, **kw)

    def symlink(self, name, target, **kw):
        return self.add(name, tarfile.SYMTYPE, mode=0o777, link=target, **kw)

    def hardlink(self, name, target, **kw):
        return self.add(name, tarfile.LNKTYPE, link=target, **kw)

    def whiteout(self, name):
        return self.add(name, tarfile.REGTYPE, mode=0)

    def tree(self, root):
        """Add the directory tree at root, owned by root:root, mtimes fixed."""
        for top, dirs, files in os.walk(root):
            dirs.sort()
            for name in sorted(dirs + files):
                path = os.path.join(top, name)
                ti = self.tf.gettarinfo(path, os.path.relpath(path, root))
                ti.uid = ti.gid = 0
                ti.uname = ti.gname = ""
                ti.mtime = MTIME
                if ti.isreg():
                    with open(path, "rb") as f:
                        self.tf.addfile(ti, f)
                else:
                    self.tf.addfile(ti)
        return self

    def bytes(self):
        self.tf.close()
        return self.buf.getvalue()


def compress(raw, how):
    if how in ("gzip", "gzip-fast"):
        out = io.BytesIO()
        level = 1 if how == "gzip-fast" else 6
        with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=level) as g:
            g.write(raw)
        return out.getvalue(), LAYER_GZIP
    if how == "zstd":
        out = subprocess.run(["zstd", "-q", "-3", "-c"], input=raw,
                             stdout=subprocess.PIPE, check=True).stdout
        return out, LAYER_ZSTD
    return raw, LAYER_TAR


class Layer:
    """A layer blob in the layout: its descriptor and its diff_id."""

    def __init__(self, layout, raw=None, how="gzip", desc=None, diff_id=None):
        if desc is None:
            blob, media_type = compress(raw, how)
            desc = layout.put(blob, media_type)
            diff_id = sha256(raw)
        self.desc, self.diff_id = desc, diff_id


def image(layout, layers, config=None, arch="amd64", variant=None,
          history="box testkit mkimages"):
    """Write config and manifest; return the manifest's descriptor."""
    cfg = {
        "created": CREATED,
        "architecture": arch,
        "os": "linux",
        "config": config if config is not None else {"Env": [PATH_ENV], "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [l.diff_id for l in layers]},
        "history": [{"created": CREATED, "created_by": "%s: layer %d" % (history, i)}
                    for i in range(len(layers))],
    }
    if variant:
        cfg["variant"] = variant
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": layout.put_json(cfg, OCI_CONFIG),
        "layers": [l.desc for l in layers],
    }
    return layout.put_json(manifest, OCI_MANIFEST)


def platform(arch, variant=None):
    p = {"architecture": arch, "os": "linux"}
    if variant:
        p["variant"] = variant
    return p


def index(layout, entries):
    manifests = []
    for desc, plat in entries:
        d = dict(desc)
        d["platform"] = plat
        manifests.append(d)
    return layout.put_json({"schemaVersion": 2, "mediaType": OCI_INDEX,
                            "manifests": manifests}, OCI_INDEX)


# -- CRC-32 of a run of zero bytes, without reading them -------------------
# zlib's crc32_combine: appending n zeros is a linear map on the CRC, so
# square the one-zero-bit operator (GF(2) matrices) instead of looping.
def _times(mat, vec):
    s = 0
    i = 0
    while vec:
        if vec & 1:
            s ^= mat[i]
        vec >>= 1
        i += 1
    return s


def _square(mat):
    return [_times(mat, mat[n]) for n in range(32)]


def crc32_zeros(crc, n):
    if n <= 0:
        return crc
    odd = [0xEDB88320] + [1 << (i - 1) for i in range(1, 32)]
    even = _square(odd)   # two zero bits
    odd = _square(even)   # four zero bits
    crc ^= 0xFFFFFFFF     # zlib's crc32 pre- and post-conditions the register
    while True:
        even = _square(odd)
        if n & 1:
            crc = _times(even, crc)
        n >>= 1
        if not n:
            break
        odd = _square(even)
        if n & 1:
            crc = _times(odd, crc)
        n >>= 1
        if not n:
            break
    return crc ^ 0xFFFFFFFF


def zero_bomb(layout, size):
    """A gzip layer: one file of `size` zero bytes, its blob ~size/1000.

    After the 512-byte tar header the whole stream is zeros (file data, the
    end-of-archive blocks, the record padding).  One deflate block that
    codes 1 MiB of zeros, sync-flushed to a byte boundary, refers only to
    zeros behind it, so repeating its bytes codes as many MiB as needed.
    """
    ti = tarfile.TarInfo("bomb")
    ti.size, ti.mtime, ti.mode, ti.uname, ti.gname = size, MTIME, 0o644, "", ""
    header = ti.tobuf(tarfile.USTAR_FORMAT)
    data_end = 512 + (size + 511) // 512 * 512 + 1024
    total = (data_end + RECORD - 1) // RECORD * RECORD
    zeros_total = total - 512
    mib = 1 << 20
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts = [co.compress(header) + co.compress(bytes(mib)) + co.flush(zlib.Z_SYNC_FLUSH)]
    block = co.compress(bytes(mib)) + co.flush(zlib.Z_SYNC_FLUSH)
    n, rest = divmod(zeros_total - mib, mib)
    parts.append(block * n)
    parts.append(co.compress(bytes(rest)) + co.flush(zlib.Z_FINISH))
    crc = crc32_zeros(zlib.crc32(header), zeros_total)
    head = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # RFC 1952, mtime 0
    trailer = crc.to_bytes(4, "little") + (total & 0xFFFFFFFF).to_bytes(4, "little")
    blob = head + b"".join(parts) + trailer
    h = hashlib.sha256(header)
    chunk = bytes(16 * mib)
    left = zeros_total
    while left:
        step = min(left, len(chunk))
        h.update(memoryview(chunk)[:step])
        left -= step
    desc = layout.put(blob, LAYER_GZIP)
    return Layer(layout, desc=desc, diff_id="sha256:" + h.hexdigest())


def entries_bomb(layout, count):
    """A gzip layer of `count` empty files (names 0000000, 0000001, ...).

    Written 10000 headers at a time by filling byte columns (every 512th
    byte) instead of formatting a million headers one by one: the low four
    digits of the name and the checksum field (ustar: the sum of the
    header's bytes, so it moves with the digits) are the only bytes that
    change within a chunk.
    """
    if count > 10 ** 7:
        raise ValueError("at most 10**7 entries (7-digit names)")
    ti = tarfile.TarInfo("0" * 7)
    ti.mtime, ti.mode, ti.uname, ti.gname = MTIME, 0o644, "", ""
    header = bytearray(ti.tobuf(tarfile.USTAR_FORMAT))
    header[148:156] = b" " * 8
    base = sum(header)  # of name "0000000"; each digit d adds d
    per = 10000
    chunk = bytearray(bytes(header) * per)
    for k in range(4):  # the low four digits cycle within a chunk
        col = b"".join(bytes([48 + d]) * 10 ** k for d in range(10)) * (per // 10 ** (k + 1))
        chunk[6 - k::512] = col
    low = [sum(map(int, "%04d" % i)) for i in range(per)]
    sums = {}  # digit sum of the high part -> the 8 checksum columns
    co = zlib.compressobj(6, zlib.DEFLATED, 31)
    h = hashlib.sha256()
    out = []
    for start in range(0, count, per):
        high = b"%03d" % (start // per)
        shift = sum(high) - 3 * 48
        if shift not in sums:
            fields = b"".join(b"%06o\0 " % (base + shift + d) for d in low)
            sums[shift] = [fields[j::8] for j in range(8)]
        for j in range(3):
            chunk[j::512] = high[j:j + 1] * per
        for j in range(8):
            chunk[148 + j::512] = sums[shift][j]
        data = bytes(chunk[:min(per, count - start) * 512])
        h.update(data)
        out.append(co.compress(data))
    size = count * 512 + 1024
    end = bytes((size + RECORD - 1) // RECORD * RECORD - count * 512)
    h.update(end)
    out.append(co.compress(end))
    out.append(co.flush())
    desc = layout.put(b"".join(out), LAYER_GZIP)
    return Layer(layout, desc=desc, diff_id="sha256:" + h.hexdigest())


def labels(name, **extra):
    out = {"org.opencontainers.image.title": "box-test/" + name,
           "org.opencontainers.image.source": "box testkit mkimages.sh",
           "box.test.image": name}
    out.update(extra)
    return out


def build(layout, rootfs, marker, bomb_size, bomb_entries):
    """Write every image; return the push plan as (ref, dest, how) tuples."""
    plan = []
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)
    bomb = pool.submit(zero_bomb, layout, bomb_size)
    many = pool.submit(entries_bomb, layout, bomb_entries)

    def push(ref, desc, dest, how="oci"):
        layout.tag(ref, desc)
        plan.append((ref, dest, how))

    root_tar = Tar().tree(rootfs).bytes()
    base = Layer(layout, root_tar)
    sh = {"Env": [PATH_ENV], "Cmd": ["/bin/sh"]}

    # busybox
    cfg = dict(sh, Labels=labels("busybox", **{"box.test.variant": "oci"}))
    push("busybox", image(layout, [base], cfg), "box-test/busybox:latest")

    # layers
    l2 = Tar().dir("etc").file("etc/removed-by-layer3", b"gone after layer 3\n") \
        .file("etc/kept", b"kept\n") \
        .dir("opt").dir("opt/replaced").file("opt/replaced/old-a", b"old a\n") \
        .dir("opt/replaced/sub").file("opt/replaced/sub/old-c", b"old c\n").bytes()
    l3 = Tar().dir("etc").whiteout("etc/.wh.removed-by-layer3").bytes()
    l4 = Tar().dir("opt").dir("opt/replaced").whiteout("opt/replaced/.wh..wh..opq") \
        .file("opt/replaced/new", b"new after opaque\n").bytes()
    l5 = (Tar().dir("special", mtime=1500000000)
          .file("special/setuid", b"#!/bin/sh\necho setuid\n", 0o4755)
          .file("special/setgid", b"setgid\n", 0o2755)
          .dir("special/sticky", 0o1777)
          .file("special/target", b"hardlinked content\n")
          .hardlink("special/hardlink", "special/target")
          .symlink("special/symlink", "target")
          .symlink("special/abs-symlink", "/etc/passwd")
          .file("special/xattr", b"has an xattr\n", xattrs={"user.box.test": "hello"})
          .add("special/null", tarfile.CHRTYPE, mode=0o666, dev=(1, 3))
          .add("special/fifo", tarfile.FIFOTYPE, mode=0o644)
          .file("special/owned", b"owned by 1000:1000\n", uid=1000, gid=1000)
          .file("special/mtime-old", b"old\n", mtime=1000000000)
          .file("special/mtime-new", b"new\n", mtime=1600000000)
          .file("special/readonly", b"read only\n", 0o400)
          .bytes())
    layers = [base] + [Layer(layout, t) for t in (l2, l3, l4, l5)]
    push("layers", image(layout, layers, dict(sh, Labels=labels("layers"))),
         "box-test/layers:latest")

    # config
    variants = {
        "latest": {"Entrypoint": ["/bin/echo", "entry"], "Cmd": ["cmd"],
                   "Env": [PATH_ENV, "FOO=bar"], "WorkingDir": "/work",
                   "User": "65534:65534"},
        "user-name": {"Cmd": ["id"], "Env": [PATH_ENV], "User": "nobody"},
        "no-cmd": {"Env": [PATH_ENV]},
        "entrypoint-only": {"Entrypoint": ["/bin/echo", "only"], "Env": [PATH_ENV]},
        "path": {"Cmd": ["/bin/sh", "-c", "echo $PATH"],
                 "Env": ["PATH=/custom/bin:/bin", "EMPTY=", "WITH_EQUALS=a=b"]},
    }
    for tag, cfg in variants.items():
        cfg["Labels"] = labels("config", **{"box.test.tag": tag})
        push("config-" + tag, image(layout, [base], cfg), "box-test/config:" + tag)

    # multi (amd64 is deliberately not the first entry)
    plats = [("arm64", "v8"), ("arm", "v7"), ("amd64", None)]
    entries = {}
    for arch, variant in plats:
        name = "linux/" + arch + ("/" + variant if variant else "")
        mark = Layer(layout, Tar().dir("etc").file("etc/box-test-platform",
                                                   (name + "\n").encode()).bytes())
        cfg = dict(sh, Labels=labels("multi", **{"box.test.platform": name}))
        desc = image(layout, [base, mark], cfg, arch, variant)
        entries[arch] = (desc, platform(arch, variant))
        layout.tag("multi-" + arch, desc)
    push("multi", index(layout, [entries[a] for a, _ in plats]),
         "box-test/multi:latest", "all")

    # docker, dockerlist
    cfg = dict(sh, Labels=labels("docker", **{"box.test.variant": "docker"}))
    push("docker", image(layout, [base], cfg), "box-test/docker:latest", "v2s2")
    push("dockerlist", index(layout, [entries["amd64"], entries["arm64"]]),
         "box-test/dockerlist:latest", "all-v2s2")

    # zstd, uncompressed
    for how, name in (("zstd", "zstd"), ("none", "uncompressed")):
        layer = Layer(layout, root_tar, how)
        cfg = dict(sh, Labels=labels(name))
        push(name, image(layout, [layer], cfg), "box-test/%s:latest" % name)

    # malicious
    m = marker.strip("/")
    up = "../" * 40
    evil = {
        "evil-abs": [Tar().file("/%s/evil-abs" % m, b"pwned\n")
                     .file("/tmp/../../../../%s/evil-abs-dotdot" % m, b"pwned\n")],
        "evil-dotdot": [Tar().file("../../escaped", b"pwned\n")
                        .file(up + m + "/evil-dotdot", b"pwned\n")],
        "evil-symlink": [Tar().symlink("link", "/" + m)
                         .file("link/evil-symlink", b"pwned\n")
                         .symlink("rlink", up + m)
                         .file("rlink/evil-symlink-rel", b"pwned\n")],
        "evil-layer-symlink": [Tar().symlink("etc2", "/" + m),
                               Tar().dir("etc2").file("etc2/evil-layer-symlink", b"pwned\n")],
        "evil-hardlink": [Tar().hardlink("passwd-link", "/etc/passwd")
                          .hardlink("victim-link", "/%s/victim" % m)
                          .file("victim-link", b"pwned through a hardlink\n")
                          .hardlink("victim-link-rel", up + m + "/victim")
                          .file("victim-link-rel", b"pwned through a hardlink\n")],
    }
    for name, tars in evil.items():
        layers = [Layer(layout, t.bytes()) for t in tars]
        push(name, image(layout, layers, dict(sh, Labels=labels(name))),
             "box-test/%s:latest" % name)
    wh = (Tar().whiteout(".wh...").dir("a").file("a/file", b"a file\n")
          .whiteout("a/.wh..").whiteout("a/.wh...")
          .whiteout("/%s/.wh.victim" % m).whiteout(up + m + "/.wh.victim")
          .bytes())
    push("evil-whiteout", image(layout, [base, Layer(layout, wh)],
                                dict(sh, Labels=labels("evil-whiteout"))),
         "box-test/evil-whiteout:latest")
    push("evil-bomb", image(layout, [bomb.result()], dict(sh, Labels=labels("evil-bomb"))),
         "box-test/evil-bomb:latest")
    push("evil-bomb-entries", image(layout, [many.result()],
                                    dict(sh, Labels=labels("evil-bomb"))),
         "box-test/evil-bomb:entries")
    pool.shutdown()
    layout.save()
    return plan


def build_big(layout, rootfs):
    """Benchmark images: one ~100 MB random layer; 40 small layers."""
    plan = []
    base = Layer(layout, Tar().tree(rootfs).bytes())
    sh = {"Env": [PATH_ENV], "Cmd": ["/bin/sh"]}
    noise = random.Random(20231114).randbytes(100 << 20)  # same bytes every run
    big = Layer(layout, Tar().dir("big").file("big/random.bin", noise).bytes(), "gzip-fast")
    desc = image(layout, [base, big], dict(sh, Labels=labels("big")))
    layout.tag("big", desc)
    plan.append(("big", "box-test/big:latest", "oci"))
    layers = [base]
    for i in range(40):
        t = Tar().dir("layers").file("layers/%02d" % i, noise[i * 8192:(i + 1) * 8192])
        layers.append(Layer(layout, t.bytes()))
    desc = image(layout, layers, dict(sh, Labels=labels("many-layers")))
    layout.tag("many-layers", desc)
    plan.append(("many-layers", "box-test/many-layers:latest", "oci"))
    layout.save()
    return plan


def main():
    p = argparse.ArgumentParser(description="write mkimages.sh's OCI layout")
    p.add_argument("--set", choices=("test", "big"), default="test")
    p.add_argument("--rootfs", required=True)
    p.add_argument("--layout", required=True)
    p.add_argument("--plan", required=True)
    p.add_argument("--marker", default="/tmp/box-test-marker")
    opts = p.parse_args()
    size = int(os.environ.get("BOX_TEST_BOMB_SIZE", 3 << 30))
    count = int(os.environ.get("BOX_TEST_BOMB_ENTRIES", 1000000))
    if not os.path.isabs(opts.marker):
        p.error("--marker must be an absolute path")
    if opts.set == "big":
        plan = build_big(Layout(opts.layout), opts.rootfs)
    else:
        plan = build(Layout(opts.layout), opts.rootfs, opts.marker, size, count)
    with open(opts.plan + ".tmp", "w") as f:
        for row in plan:
            f.write("\t".join(row) + "\n")
    os.rename(opts.plan + ".tmp", opts.plan)


if __name__ == "__main__":
    main()
