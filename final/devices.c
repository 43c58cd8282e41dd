/*
 * devices.c - which device nodes a container may use.
 *
 * A process with CAP_MKNOD (docker's default set has it) can make a node
 * for any device, the host's disks included, and read it. The devices
 * cgroup controller stops that: config-linux.md "Allowed Device Listing"
 * gives rules like "deny all" then "allow c 1:3 rwm" (/dev/null), read in
 * order. box adds the ones every container needs after the config's, as
 * runc does: the default devices of rootfs.c, ptys, and mknod (not use)
 * of anything.
 *
 * cgroup v1 takes the rules as lines in devices.allow and devices.deny
 * (cgroup-v1.c). cgroup v2 has no such files: the kernel runs a small BPF
 * program (bpf(2), BPF_PROG_TYPE_CGROUP_DEVICE) attached to the cgroup at
 * every open and mknod of a device node, and its answer, 1 or 0, decides.
 * box writes that program here, instruction by instruction, from the rules.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "box.h"

/* What every container may use whatever its config says (runc's AllowedDevices). */
static const struct oci_device_rule default_rules[] = {
	{ true, 'c', -1, -1, "m" }, { true, 'b', -1, -1, "m" },	/* mknod(2) of any node; opening is another matter */
	{ true, 'c', 1, 3, "rwm" }, { true, 'c', 1, 5, "rwm" }, { true, 'c', 1, 7, "rwm" },	/* null, zero, full */
	{ true, 'c', 1, 8, "rwm" }, { true, 'c', 1, 9, "rwm" },	/* random, urandom */
	{ true, 'c', 5, 0, "rwm" }, { true, 'c', 5, 1, "rwm" }, { true, 'c', 5, 2, "rwm" },	/* tty, console, ptmx */
	{ true, 'c', 136, -1, "rwm" },	/* /dev/pts/N */
};

enum {
	/* The registers of the program (bpf(2): r1 holds the context, r0 the answer). */
	R0 = 0, R1, R2, R3, R4, R5, R6, R7,
	INSNS_PER_RULE = 8,	/* at most: 3 checks of type, major, minor, 5 of access and answer */
	PROLOGUE_INSNS = 7,
	ACCESS_BITS = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE,
};

/* The config's rules, then the defaults; fails with E2BIG past max. */
int device_rules(const struct container_spec *spec, struct oci_device_rule *out, size_t max, size_t *n)
{
	size_t given = spec->resources ? spec->resources->n_devices : 0;
	size_t defaults = sizeof(default_rules) / sizeof(default_rules[0]);

	if (given + defaults > max) {
		errno = E2BIG;
		return -1;
	}
	for (size_t i = 0; i < given; i++)
		out[i] = spec->resources->devices[i];
	memcpy(out + given, default_rules, sizeof(default_rules));
	*n = given + defaults;
	return 0;
}

/* One rule as cgroup v1 writes it: "c 1:3 rwm", "a *:* rwm" (-1 is "*"). */
int device_rule_line(const struct oci_device_rule *r, char *buf, size_t size)
{
	char major[24] = "*", minor[24] = "*";

	if (r->major >= 0)
		snprintf(major, sizeof(major), "%lld", (long long)r->major);
	if (r->minor >= 0)
		snprintf(minor, sizeof(minor), "%lld", (long long)r->minor);
	return format_into(buf, size, "%c %s:%s %s", r->type, major, minor, r->access[0] ? r->access : "rwm");
}

/* ---- cgroup v2: the rules as a BPF program ------------------------------------------------ */

/* A program being written: its instructions and how many. */
struct program {
	struct bpf_insn insns[PROLOGUE_INSNS + INSNS_PER_RULE * DEVICE_RULES_MAX + 2];
	int n;
};

static void emit(struct program *p, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	p->insns[p->n++] = (struct bpf_insn){ .code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm };
}

/* The request, from struct bpf_cgroup_dev_ctx in r1: type in r3, access in r4, major r5, minor r6. */
static void emit_prologue(struct program *p)
{
	emit(p, BPF_LDX | BPF_MEM | BPF_W, R2, R1, offsetof(struct bpf_cgroup_dev_ctx, access_type), 0);
	emit(p, BPF_ALU | BPF_MOV | BPF_X, R3, R2, 0, 0);
	emit(p, BPF_ALU | BPF_AND | BPF_K, R3, 0, 0, 0xffff);	/* access_type is (access << 16) | type */
	emit(p, BPF_ALU | BPF_MOV | BPF_X, R4, R2, 0, 0);
	emit(p, BPF_ALU | BPF_RSH | BPF_K, R4, 0, 0, 16);
	emit(p, BPF_LDX | BPF_MEM | BPF_W, R5, R1, offsetof(struct bpf_cgroup_dev_ctx, major), 0);
	emit(p, BPF_LDX | BPF_MEM | BPF_W, R6, R1, offsetof(struct bpf_cgroup_dev_ctx, minor), 0);
}

static int access_bits(const char *access)
{
	int bits = 0;

	if (!access[0])
		return ACCESS_BITS;
	bits |= strchr(access, 'm') ? BPF_DEVCG_ACC_MKNOD : 0;
	bits |= strchr(access, 'r') ? BPF_DEVCG_ACC_READ : 0;
	bits |= strchr(access, 'w') ? BPF_DEVCG_ACC_WRITE : 0;
	return bits;
}

/*
 * One rule: if the request is of its type, major and minor, and (allow)
 * asks for nothing beyond its access, or (deny) for any of it, answer
 * allow or deny. Else jump to the next rule: each jump skips what is left
 * of this block (jump offsets count instructions after the jump).
 */
static void emit_rule(struct program *p, const struct oci_device_rule *r)
{
	int checks = (r->type != 'a') + (r->major >= 0) + (r->minor >= 0);
	int end = p->n + checks + INSNS_PER_RULE - 3;	/* the verifier refuses unreachable filler */
	int bits = access_bits(r->access);

	if (r->type != 'a')
		emit(p, BPF_JMP | BPF_JNE | BPF_K, R3, 0, (int16_t)(end - p->n - 1),
		     r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
	if (r->major >= 0)
		emit(p, BPF_JMP | BPF_JNE | BPF_K, R5, 0, (int16_t)(end - p->n - 1), (int32_t)r->major);
	if (r->minor >= 0)
		emit(p, BPF_JMP | BPF_JNE | BPF_K, R6, 0, (int16_t)(end - p->n - 1), (int32_t)r->minor);
	emit(p, BPF_ALU | BPF_MOV | BPF_X, R7, R4, 0, 0);
	emit(p, BPF_ALU | BPF_AND | BPF_K, R7, 0, 0, r->allow ? ACCESS_BITS & ~bits : bits);
	emit(p, BPF_JMP | (r->allow ? BPF_JNE : BPF_JEQ) | BPF_K, R7, 0, (int16_t)(end - p->n - 1), 0);
	emit(p, BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, r->allow ? 1 : 0);
	emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

/*
 * The program: the rules checked last to first, the first that matches
 * answers; a request no rule matches is allowed (as v1, which starts from
 * its parent's "a *:* rwm" until a rule says "deny a").
 */
static void write_program(struct program *p, const struct oci_device_rule *rules, size_t n)
{
	p->n = 0;
	emit_prologue(p);
	for (size_t i = n; i-- > 0;)
		emit_rule(p, &rules[i]);
	emit(p, BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, 1);
	emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

static bool denies_anything(const struct oci_device_rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!rules[i].allow)
			return true;
	}
	return false;
}

/* bpf(2) BPF_PROG_LOAD, then BPF_PROG_ATTACH to the cgroup directory (BPF_F_ALLOW_MULTI: others may be there). */
static int attach_program(const struct program *p, int cgroup_fd)
{
	union bpf_attr load = {
		.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE,
		.insns = (uint64_t)(uintptr_t)p->insns,
		.insn_cnt = (uint32_t)p->n,
		.license = (uint64_t)(uintptr_t)"GPL",
	};
	union bpf_attr attach = { .target_fd = (uint32_t)cgroup_fd, .attach_type = BPF_CGROUP_DEVICE,
				  .attach_flags = BPF_F_ALLOW_MULTI };
	int prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof(load)), ret;

	if (prog < 0)
		return -1;
	attach.attach_bpf_fd = (uint32_t)prog;
	ret = (int)syscall(SYS_bpf, BPF_PROG_ATTACH, &attach, sizeof(attach));
	close(prog);	/* the attachment keeps the program; it goes with the cgroup */
	return ret;
}

/* cgroup v2: the device rules of spec as a program attached to the cgroup at dir (none if nothing is denied). */
int load_device_filter(const char *dir, const struct container_spec *spec, struct failure *f)
{
	static struct program program;	/* about 2 KiB of instructions: not on the stack */
	struct oci_device_rule rules[DEVICE_RULES_MAX];
	size_t n;
	int fd, ret;

	if (device_rules(spec, rules, DEVICE_RULES_MAX, &n) < 0)
		return failed(f, "linux.resources.devices: more than %d rules", DEVICE_RULES_MAX);
	if (!denies_anything(rules, n))
		return 0;
	write_program(&program, rules, n);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return failed(f, "open cgroup %s", dir);
	ret = attach_program(&program, fd);
	close(fd);
	if (ret < 0)
		return failed(f, "load the device rules into cgroup %s (bpf BPF_PROG_TYPE_CGROUP_DEVICE)", dir);
	return 0;
}
