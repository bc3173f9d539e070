# SPDX-License-Identifier: MIT
# bash completion for sbcoctl: verbs, options, VM names (from `sbcoctl vms --json`) and modes.
_sbcoctl() {
	local cur prev verbs opts
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	verbs="analyze snapshot vms status distance runqueue top daemon-vms metrics reload set-mode request config"
	opts="--json --all --alpha --pattern --root --uri --no-libvirt --qmp --socket --timeout --delay --iterations --color --help"
	case "$prev" in
	analyze | --root) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	--color) COMPREPLY=($(compgen -W "auto always never" -- "$cur")); return ;;
	set-mode | distance)
		COMPREPLY=($(compgen -W "$(sbcoctl vms --json 2> /dev/null |
			sed -n 's/^[[:space:]]*"name":[[:space:]]*"\(.*\)",$/\1/p')" -- "$cur"))
		return ;;
	esac
	if [ "$COMP_CWORD" -ge 3 ] && [ "${COMP_WORDS[COMP_CWORD-2]}" = set-mode ]; then
		COMPREPLY=($(compgen -W "off bal sbco" -- "$cur"))
		return
	fi
	case "$cur" in
	-*) COMPREPLY=($(compgen -W "$opts" -- "$cur")) ;;
	*) COMPREPLY=($(compgen -W "$verbs" -- "$cur")) ;;
	esac
}
complete -F _sbcoctl sbcoctl
