/*
 * test_network.c - containers on the bridge, published ports, leases and
 * NAT, checked as a user would (as root).
 *
 * The test program runs in a network namespace of its own (testkit_setup):
 * that is the "host" whose bridge, veths, routes, forwarding and nftables
 * rules the boxes change, and where the clean-host check looks after each
 * test. Nothing is sent anywhere but there and to loopback. A test that
 * leaves the bridge behind on purpose removes it with box prune, as a user
 * would.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "boxtest.h"

enum {
	PARALLEL = 20,		/* boxes started at once */
	PARALLEL_IN_VM = 6,	/* as many in testkit/cgroup2-vm, whose CPUs are emulated */
};

/* A path in the test's scratch directory. */
static const char *scratch(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", test_dir(), name);
	return buf;
}

/* Copy a static helper (tests/NAME.c) into the rootfs. */
static void install_helper(const char *name)
{
	host_sh("cp %s/%s %s/bin/%s", HELPER_DIR, name, test_rootfs(), name);
}

/* box prune, and what it says: the bridge and table go once no container uses them. */
static void prune_network(void)
{
	struct run r = run_box("prune", NULL);

	assert_status(&r, 0);
}

/*
 * Start a container in the background that tells its address through a
 * volume (DIR/NAME.addr) and then runs command; its box's pid goes to
 * DIR/NAME.pid. Returns once the address is there.
 */
static void start_container(const char *name, const char *flags, const char *command, char *address, size_t size)
{
	char path[512], pidfile[512];

	snprintf(path, sizeof(path), "%s/%s.addr", test_dir(), name);
	snprintf(pidfile, sizeof(pidfile), "%s/%s.pid", test_dir(), name);
	unlink(path);
	host_sh("%s run -v %s:/shared %s %s /bin/sh -c "
		"'ip -4 -o addr show eth0 | sed \"s/.*inet \\([0-9.]*\\).*/\\1/\" > /shared/%s.tmp && "
		"mv /shared/%s.tmp /shared/%s.addr; %s' >%s/%s.out 2>&1 & echo $! > %s",
		box_path(), test_dir(), flags, test_rootfs(), name, name, name, command, test_dir(), name, pidfile);
	if (wait_for_file(path) < 0 || !read_text(path, address, size))
		fail_msg("container %s did not start; its output:\n%s", name,
			 read_text(scratch(path, sizeof(path), "a.out"), address, size) ? address : "");
	address[strcspn(address, "\n")] = '\0';
}

/* Stop a container started by start_container: its box exits 128 + SIGTERM. */
static void stop_container(const char *name)
{
	char pidfile[512];

	snprintf(pidfile, sizeof(pidfile), "%s/%s.pid", test_dir(), name);
	assert_int_equal(signal_and_reap(pidfile, SIGTERM), 128 + SIGTERM);
}

static void test_the_container_has_lo_and_eth0_with_an_address_and_a_route(void **state)
{
	(void)state;
	skip_unless_root();
	struct run r = run_box("run", test_rootfs(), "/bin/sh", "-c",
			       "ls /sys/class/net; ip -4 -o addr show eth0 | cut -d' ' -f2,7; ip route | head -n 1", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "eth0\nlo\neth0 10.88.0.2/16\ndefault via 10.88.0.1 dev eth0 \n");
	prune_network();
}

/* Two containers on the bridge ping each other and the bridge. */
static void test_two_containers_ping_each_other_and_the_bridge(void **state)
{
	char a[64];

	(void)state;
	skip_unless_root();
	start_container("a", "", "sleep 30", a, sizeof(a));
	struct run r = run_box("run", test_rootfs(), "/bin/sh", "-c", "ping -c 1 -W 2 $0 >/dev/null && echo reached $0; "
			       "ping -c 1 -W 2 10.88.0.1 >/dev/null && echo reached the bridge", a, NULL);
	stop_container("a");
	assert_status(&r, 0);
	char expected[128];
	snprintf(expected, sizeof(expected), "reached %s\nreached the bridge\n", a);
	assert_string_equal(r.out, expected);
	prune_network();
}

/* Wait until a web server answers url, as the host sees it; its page, or fail. */
static void wait_for_web(const char *url, char *page, size_t size)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "for i in $(seq 50); do busybox wget -q -O - %s 2>/dev/null && exit 0; sleep 0.1; done; exit 1", url);
	char *argv[] = { "sh", "-c", cmd, NULL };
	struct run r = run_argv(argv);
	if (r.status != 0)
		fail_msg("nothing answered at %s", url);
	assert_true(strlen(r.out) < size);
	memcpy(page, r.out, strlen(r.out) + 1);
}

/*
 * -p: busybox httpd in the container answers through the published port
 * on 127.0.0.1 and on the host's bridge address, and from another machine
 * (another container, whose packet comes in on the bridge: DNAT in prerouting).
 * UDP too.
 */
static void test_published_ports_reach_the_container(void **state)
{
	char a[64], page[256];

	(void)state;
	skip_unless_root();
	install_helper("udp");
	start_container("a", "-p 8080:80 -p 5353:53/udp",
			"mkdir -p /www && echo hello from the container > /www/index.html && "
			"{ udp echo 53 & } && exec httpd -f -p 80 -h /www", a, sizeof(a));
	wait_for_web("http://127.0.0.1:8080/", page, sizeof(page));
	assert_string_equal(page, "hello from the container\n");
	wait_for_web("http://10.88.0.1:8080/", page, sizeof(page));
	assert_string_equal(page, "hello from the container\n");
	struct run r = run_box("run", test_rootfs(), "/bin/wget", "-q", "-O", "-", "http://10.88.0.1:8080/", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "hello from the container\n");
	char *udp[] = { HELPER_DIR "/udp", "ask", "127.0.0.1", "5353", "hi", NULL };
	r = run_argv(udp);
	stop_container("a");
	assert_status(&r, 0);
	assert_string_equal(r.out, "echo: hi\n");
	/* Its ports are unpublished when it stops, before any prune. */
	host_sh("! nft list map ip box ports | grep -q goto");
	prune_network();
}

/* -p IP:HOSTPORT:PORT listens only on that address of the host. */
static void test_a_port_published_on_one_address_answers_only_there(void **state)
{
	char a[64], page[256];

	(void)state;
	skip_unless_root();
	start_container("a", "-p 127.0.0.1:8081:80",
			"mkdir -p /www && echo only on loopback > /www/index.html && exec httpd -f -p 80 -h /www", a, sizeof(a));
	wait_for_web("http://127.0.0.1:8081/", page, sizeof(page));
	char *argv[] = { "busybox", "wget", "-q", "-O", "-", "http://10.88.0.1:8081/", NULL };
	struct run r = run_argv(argv);
	stop_container("a");
	assert_string_equal(page, "only on loopback\n");
	assert_true(r.status != 0);
	prune_network();
}

/*
 * "Another machine": a process of ours in a network namespace of its own,
 * joined to the test's "host" by a veth pair: 192.168.77.1 on the host,
 * 192.168.77.2 there. Returns its pid; kill it to remove it all.
 */
static pid_t start_other_machine(void)
{
	int ready[2];
	char byte;
	pid_t pid;

	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0)
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &byte, 1), 1);
	close(ready[0]);
	host_sh("ip link add vo-host type veth peer name vo-other netns %d && "
		"ip addr add 192.168.77.1/24 dev vo-host && ip link set vo-host up && "
		"nsenter -t %d -n sh -c 'ip addr add 192.168.77.2/24 dev vo-other && ip link set vo-other up && ip link set lo up'",
		(int)pid, (int)pid);
	return pid;
}

/* Going out, a container's packets take the host's address (masquerade): what another machine sees. */
static void test_outgoing_packets_are_masqueraded(void **state)
{
	char out[512], text[512], pidfile[512];
	pid_t other;

	(void)state;
	skip_unless_root();
	install_helper("udp");
	other = start_other_machine();
	host_sh("nsenter -t %d -n %s/udp echo 9999 > %s 2>&1 & echo $! > %s",
		(int)other, HELPER_DIR, scratch(out, sizeof(out), "other.out"), scratch(pidfile, sizeof(pidfile), "echo.pid"));
	usleep(200 * 1000);
	struct run r = run_box("run", test_rootfs(), "/bin/udp", "ask", "192.168.77.2", "9999", "hello", NULL);
	signal_and_reap(pidfile, 0);
	kill(other, SIGKILL);
	waitpid(other, NULL, 0);
	assert_status(&r, 0);
	assert_string_equal(r.out, "echo: hello\n");
	assert_string_equal(read_text(out, text, sizeof(text)), "from 192.168.77.1 hello\n");
	prune_network();
}

static void test_network_none_has_only_loopback(void **state)
{
	(void)state;
	skip_unless_root();
	struct run r = run_box("run", "--network", "none", test_rootfs(), "/bin/ls", "/sys/class/net", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "lo\n");
}

/* --network host: the (throwaway) host's own interfaces, here a dummy one the test makes. */
static void test_network_host_sees_the_hosts_links(void **state)
{
	(void)state;
	skip_unless_root();
	host_sh("ip link add boxtest0 type bridge");
	struct run r = run_box("run", "--network", "host", test_rootfs(), "/bin/ls", "/sys/class/net", NULL);
	host_sh("ip link del boxtest0");
	assert_status(&r, 0);
	assert_non_null(strstr(r.out, "boxtest0\n"));
}

/* /etc/hosts and /etc/hostname are the container's own; the host's loopback resolvers are replaced. */
static void test_etc_files_are_generated(void **state)
{
	char script[1024];

	(void)state;
	skip_unless_root();
	struct run r = run_box("run", "--hostname", "web", test_rootfs(), "/bin/sh", "-c",
			       "cat /etc/hostname; grep web /etc/hosts", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "web\n10.88.0.2\tweb\n");
	/* A host whose resolver is systemd-resolved's 127.0.0.53, as on Ubuntu: made in a mount namespace of our own. */
	if (access("/etc/resolv.conf", F_OK) < 0) {
		print_message("no /etc/resolv.conf here to stand in for (a test VM?): the resolver part is not checked\n");
		prune_network();
		return;
	}
	snprintf(script, sizeof(script), "printf 'nameserver 127.0.0.53\\nsearch example.org\\n' > %s/resolv.conf && "
		 "mount --bind %s/resolv.conf /etc/resolv.conf && %s run %s /bin/cat /etc/resolv.conf",
		 test_dir(), test_dir(), box_path(), test_rootfs());
	char *argv[] = { "unshare", "--mount", "sh", "-c", script, NULL };
	r = run_argv(argv);
	assert_status(&r, 0);
	assert_string_equal(r.out, "search example.org\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n");
	prune_network();
}

/* Twenty boxes started at once: twenty addresses, no two the same; all leases free afterwards. */
static void test_twenty_containers_at_once_get_twenty_addresses(void **state)
{
	int parallel = getenv("BOX_TEST_VM") ? PARALLEL_IN_VM : PARALLEL;
	char go[512], cmd[4096], expected[16];

	(void)state;
	skip_unless_root();
	scratch(go, sizeof(go), "go");
	unlink(go);
	snprintf(cmd, sizeof(cmd),
		 "for i in $(seq %d); do %s run -v %s:/shared %s /bin/sh -c "
		 "'ip -4 -o addr show eth0 | cut -d\" \" -f7 > /shared/tmp-$0 && mv /shared/tmp-$0 /shared/parallel-$0; "
		 "while [ ! -e /shared/go ]; do sleep 0.05; done' $i "
		 ">%s/box-$i.err 2>&1 & done; for i in $(seq 450); do [ $(ls %s | grep -c ^parallel-) = %d ] && break; sleep 0.1; done; "
		 "cat %s/parallel-* | sort | uniq | wc -l; touch %s; wait; cat %s/box-*.err >&2",
		 parallel, box_path(), test_dir(), test_rootfs(), test_dir(), test_dir(), parallel, test_dir(), go, test_dir());
	char *argv[] = { "sh", "-c", cmd, NULL };
	struct run r = run_argv(argv);
	assert_status(&r, 0);
	snprintf(expected, sizeof(expected), "%d\n", parallel);
	if (strcmp(r.out, expected) != 0)
		fail_msg("%s containers of %d got an address; what the boxes said:\n%s", r.out, parallel, r.err);
	host_sh("rm -f %s/parallel-* %s/box-*.err %s", test_dir(), test_dir(), go);	/* each file appears whole (mv) */
	/* Every lease given back: the leases directory is empty. */
	host_sh("test -z \"$(ls $BOX_STATE/networks/box0/leases)\"");
	prune_network();
}

/* Bad input: one line, exit 125, nothing set up (no veth, rule or lease: the clean-host check looks). */
static void test_bad_network_flags_are_refused(void **state)
{
	const char *bad[][2] = {
		{ "-p", "70000:80" }, { "-p", "abc" }, { "-p", "80" }, { "-p", "8080:80/sctp" },
		{ "--network", "nonsense" }, { "--subnet", "10.88.0.0/40" }, { "--subnet", "banana" },
	};

	(void)state;
	skip_unless_root();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct run r = run_box("run", bad[i][0], bad[i][1], test_rootfs(), "/bin/true", NULL);

		assert_status(&r, 125);
		assert_non_null(strstr(r.err, bad[i][1]));
		assert_string_equal(strchr(r.err, '\n'), "\n");	/* one line */
	}
	struct run r = run_box("run", "--network", "none", "-p", "8080:80", test_rootfs(), "/bin/true", NULL);
	assert_status(&r, 125);
	assert_string_equal(r.err, "box: run: -p needs --network bridge: there is no address to forward to\n");
}

/* A host port published by one container: a second box asking for it sets nothing up. */
static void test_a_port_in_use_is_refused_and_nothing_is_left(void **state)
{
	char a[64];

	(void)state;
	skip_unless_root();
	start_container("a", "-p 8082:80", "sleep 30", a, sizeof(a));
	struct run r = run_box("run", "-p", "8082:80", test_rootfs(), "/bin/true", NULL);
	assert_status(&r, 125);
	assert_non_null(strstr(r.err, "8082/tcp: already published by container "));
	assert_string_equal(strchr(r.err, '\n'), "\n");
	/* Only container a's lease is held. */
	host_sh("test $(ls $BOX_STATE/networks/box0/leases | wc -l) = 1");
	stop_container("a");
	prune_network();
}

/* A /30 has one address for a container: the second box finds none, and says so. */
static void test_an_exhausted_subnet_is_refused(void **state)
{
	char a[64];

	(void)state;
	skip_unless_root();
	start_container("a", "--subnet 10.99.0.0/30", "sleep 30", a, sizeof(a));
	assert_string_equal(a, "10.99.0.2");
	struct run r = run_box("run", test_rootfs(), "/bin/true", NULL);
	assert_status(&r, 125);
	assert_string_equal(r.err, "box: no free address in 10.99.0.0/30: No space left on device\n");
	stop_container("a");
	prune_network();
}

/* box killed with SIGKILL: its veth, rules and lease are gone after the next run (or box prune). */
static void test_what_a_killed_box_left_is_removed(void **state)
{
	char a[64], pidfile[512];

	(void)state;
	skip_unless_root();
	start_container("a", "-p 8083:80", "sleep 30", a, sizeof(a));
	scratch(pidfile, sizeof(pidfile), "a.pid");
	signal_and_reap(pidfile, SIGKILL);
	/* Its rule is still there: the port is taken until someone cleans up. */
	host_sh("nft list map ip box ports | grep -q 8083");
	struct run r = run_box("run", "-p", "8083:80", test_rootfs(), "/bin/true", NULL);
	assert_status(&r, 0);
	host_sh("! nft list map ip box ports | grep -q 8083");
	host_sh("test -z \"$(ls $BOX_STATE/networks/box0/leases)\"");
	prune_network();
}

/* box prune keeps the bridge while a container uses it, and removes it after. */
static void test_prune_keeps_the_bridge_while_a_container_uses_it(void **state)
{
	char a[64];

	(void)state;
	skip_unless_root();
	start_container("a", "", "sleep 30", a, sizeof(a));
	struct run r = run_box("prune", NULL);
	assert_status(&r, 0);
	host_sh("ip link show box0 >/dev/null && nft list table ip box >/dev/null");
	stop_container("a");
	r = run_box("prune", NULL);
	assert_status(&r, 0);
	assert_non_null(strstr(r.out, "removed the bridge box0 and the nftables table ip box"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_the_container_has_lo_and_eth0_with_an_address_and_a_route, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_two_containers_ping_each_other_and_the_bridge, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_published_ports_reach_the_container, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_a_port_published_on_one_address_answers_only_there, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_outgoing_packets_are_masqueraded, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_network_none_has_only_loopback, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_network_host_sees_the_hosts_links, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_etc_files_are_generated, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_twenty_containers_at_once_get_twenty_addresses, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_bad_network_flags_are_refused, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_a_port_in_use_is_refused_and_nothing_is_left, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_an_exhausted_subnet_is_refused, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_what_a_killed_box_left_is_removed, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_prune_keeps_the_bridge_while_a_container_uses_it, integration_setup, integration_teardown),
	};

	select_tests();
	return cmocka_run_group_tests_name("step05 network", tests, testkit_setup, testkit_cleanup);
}
