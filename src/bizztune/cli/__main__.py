from bizztune.cli import main

main()
