/*
 * box-init.c - box run --init: a tiny init to be the container's PID 1.
 *
 * PID 1 is special (pid_namespaces(7)): the kernel sends it no signal it
 * has no handler for (so a plain program as PID 1 ignores Ctrl-C and box
 * stop's SIGTERM), and every orphan of the container becomes its child,
 * to be reaped, or left a zombie. A program that was not written to be an
 * init does neither. This one (like tini, docker's --init) runs the
 * command as its child, passes every signal on to it, reaps every child,
 * and exits with the command's status once it exits.
 *
 *     box-init CMD [ARG...]
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { EXIT_INIT_FAILED = 125, EXIT_SIGNAL_BASE = 128, EXIT_NOT_FOUND = 127 };

/* The child: signals as they were (default, unblocked), then the command. */
static _Noreturn void run_command(char **argv, const sigset_t *old)
{
	sigprocmask(SIG_SETMASK, old, NULL);
	execvp(argv[0], argv);
	fprintf(stderr, "box-init: %s: %s\n", argv[0], strerror(errno));
	_exit(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_INIT_FAILED);
}

/* Reap every child that has exited; if one was the command, its status as a shell says it. -1: not yet. */
static int reap(pid_t command)
{
	int status, result = -1;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == command)
			result = WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_SIGNAL_BASE + WTERMSIG(status);
	}
	return result;
}

int main(int argc, char **argv)
{
	sigset_t all, old;
	pid_t command;
	int sig, status;

	if (argc < 2) {
		fprintf(stderr, "usage: box-init CMD [ARG...]\n");
		return EXIT_INIT_FAILED;
	}
	/* Every signal waits for sigwait(3) below: none can be lost, and none kills us. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	command = fork();
	if (command < 0)
		return EXIT_INIT_FAILED;
	if (command == 0)
		run_command(argv + 1, &old);
	for (;;) {
		if (sigwait(&all, &sig) != 0)
			continue;
		if (sig != SIGCHLD) {
			kill(command, sig);	/* passed on; SIGKILL and SIGSTOP never reach us */
			continue;
		}
		status = reap(command);
		if (status >= 0)
			return status;
	}
}
