# prove-lib.sh - what prove.sh also needs inside other shells (an unshare'd sh).

# The tree under a directory, one line per fact, sorted: directories (type, mode, owner),
# everything else (type, mode, owner, size, link target, mtime), and the sha256 of each file.
tree_of() {
	(cd "$1" && {
		find . -mindepth 1 -type d -printf '%p %y %m %U:%G\n'
		find . -mindepth 1 ! -type d -printf '%p %y %m %U:%G %s %l %T@\n'
		find . -type f -print0 | xargs -0r sha256sum
	} | LC_ALL=C sort)
}
