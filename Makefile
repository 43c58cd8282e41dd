# box: a container engine built one kernel mechanism at a time.
#
#   make                 build every stage
#   make test            every stage's tests, the book's examples, the exercise checks
#   make test-STAGE      the same for one stage, e.g. make test-step01-chroot
#   make test-cgroup2    the newest stage's cgroup tests in a VM with pure cgroup v2
#   make sanitize        every stage's tests under AddressSanitizer and UBSan
#   make bench           side-by-side figures (bench/): what each stage's mechanism costs
#   make mutate          break each stage's key lines once (tests/mutations) and
#                        check that a test fails for each (slow; for maintainers)
#   make demo            the engine (final) used as an operator uses it, in a network namespace of its own
#   make deps            install the Debian/Ubuntu packages the kit needs (as root)
#   make clean

STAGES := $(sort $(wildcard step0[0-9]-*)) $(wildcard final)
NEWEST := $(lastword $(STAGES))

# Debian packages: build tools and test framework, then what the stages use.
DEPS = build-essential pkg-config clang libcmocka-dev python3 \
	busybox-static util-linux procps iproute2 nftables \
	qemu-system-x86 linux-image-amd64 cpio xz-utils kmod \
	libmnl-dev libnftables-dev \
	libcurl4-openssl-dev libarchive-dev libjansson-dev libssl-dev \
	docker-registry skopeo python3-cryptography curl zstd jq \
	libcap-dev libseccomp-dev podman containerd docker.io umoci buildah
# The newest stage that has cgroup tests, for test-cgroup2.
CGROUP_STAGE := $(lastword $(foreach s,$(STAGES),$(if $(wildcard $(s)/tests/test_cgroup.c),$(s))))

all:
	@for s in $(STAGES); do $(MAKE) -C $$s || exit 1; done

test:
	@testkit/run-tests $(STAGES)

test-cgroup2:
	@$(MAKE) -C $(CGROUP_STAGE) --no-print-directory check-cgroup2

test-%:
	@testkit/run-tests $*

sanitize:
	@for s in $(STAGES); do $(MAKE) -C $$s sanitize || exit 1; done

bench:
	@bench/stages.sh

mutate:
	@status=0; for s in $(STAGES); do testkit/mutate.py $$s || status=1; done; exit $$status

demo:
	@testkit/demo $(NEWEST)

deps:
	apt-get update
	apt-get install -y --no-install-recommends $(DEPS)

clean:
	@for s in $(STAGES) $(wildcard exercises/step0*); do $(MAKE) -C $$s clean >/dev/null; done

.PHONY: all test test-cgroup2 sanitize bench mutate demo deps clean
