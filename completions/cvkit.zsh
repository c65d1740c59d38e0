#compdef cvkit

_cvkit_completion() {
  eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" _CVKIT_COMPLETE=complete_zsh cvkit)
}

compdef _cvkit_completion cvkit
