# Sourced by `make run` and `make simulate`: exports development defaults for
# the settings a first try needs, unless the environment or .env sets them.
# The service reads .env itself, and variables already in the environment win
# over .env, so a default is exported only when both are silent.

in_dotenv() {
	[ -f .env ] && grep -Eqs "^[[:space:]]*(export[[:space:]]+)?$1=" .env
}

if [ -z "${OKTAWATCH_OKTA_AUTH_SECRET:-}" ] && ! in_dotenv OKTAWATCH_OKTA_AUTH_SECRET; then
	export OKTAWATCH_OKTA_AUTH_SECRET=dev-only-secret-not-for-production
	echo "using the development-only hook secret; set OKTAWATCH_OKTA_AUTH_SECRET for anything Okta can reach" >&2
fi
if [ -z "${OKTAWATCH_LISTEN_ADDR:-}" ] && ! in_dotenv OKTAWATCH_LISTEN_ADDR; then
	export OKTAWATCH_LISTEN_ADDR=127.0.0.1:8080
fi
if [ -z "${OKTAWATCH_SHUTDOWN_DRAIN:-}" ] && ! in_dotenv OKTAWATCH_SHUTDOWN_DRAIN; then
	# No load balancer watches readiness on a laptop, so Ctrl-C stops at once.
	export OKTAWATCH_SHUTDOWN_DRAIN=0s
fi
