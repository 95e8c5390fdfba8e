package main

// The collector release every module is pinned to in go.mod; build.sh names the cached binary after it.
const version = "0.165.0"
