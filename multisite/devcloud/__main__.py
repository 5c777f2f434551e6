import sys

from multisite.devcloud.cli import main

sys.exit(main())
