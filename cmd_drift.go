package main

import "github.com/spf13/cobra"

func newDriftCmd() *cobra.Command { return &cobra.Command{Use: "drift", Hidden: true} }
