// Package config owns the daemon's settings as data: one struct, the
// defaults in one place (Default), loading of a daemon.json with Docker's key
// names (Load), and validation (Validate).
//
// It must not import a flag library or have side effects beyond reading the
// file it is given: flags are bound in cmd/berth.
package config
