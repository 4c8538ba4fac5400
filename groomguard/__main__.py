from groomguard.cli import main

main()
