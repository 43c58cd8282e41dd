/*
 * udp.c - the UDP half of the network tests (busybox's nc has no -u).
 *
 *     udp echo PORT             wait for one datagram on PORT; answer "echo: DATA" to its
 *                               sender, and print "from ADDRESS DATA"
 *     udp ask ADDRESS PORT MSG  send MSG, print the answer (waits at most 3 s)
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int echo(int port)
{
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(port) }, peer;
	socklen_t len = sizeof(peer);
	char data[512], answer[600];
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	ssize_t n;

	if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0) {
		perror("udp: bind");
		return 1;
	}
	n = recvfrom(fd, data, sizeof(data) - 1, 0, (struct sockaddr *)&peer, &len);
	if (n < 0) {
		perror("udp: recvfrom");
		return 1;
	}
	data[n] = '\0';
	snprintf(answer, sizeof(answer), "echo: %s", data);
	sendto(fd, answer, strlen(answer), 0, (struct sockaddr *)&peer, len);
	printf("from %s %s\n", inet_ntoa(peer.sin_addr), data);
	return 0;
}

static int ask(const char *address, int port, const char *message)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval wait = { .tv_sec = 3 };
	char answer[600];
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	ssize_t n;

	if (fd < 0 || inet_pton(AF_INET, address, &to.sin_addr) != 1 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait)) < 0 ||
	    sendto(fd, message, strlen(message), 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
		perror("udp: send");
		return 1;
	}
	n = recv(fd, answer, sizeof(answer) - 1, 0);
	if (n < 0) {
		perror("udp: no answer");
		return 1;
	}
	answer[n] = '\0';
	printf("%s\n", answer);
	return 0;
}

int main(int argc, char *argv[])
{
	if (argc == 3 && strcmp(argv[1], "echo") == 0)
		return echo(atoi(argv[2]));
	if (argc == 5 && strcmp(argv[1], "ask") == 0)
		return ask(argv[2], atoi(argv[3]), argv[4]);
	fprintf(stderr, "usage: udp echo PORT | udp ask ADDRESS PORT MESSAGE\n");
	return 2;
}
