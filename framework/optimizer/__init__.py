"""``fw.optimizer`` (MXNet 1.9.1's ``mx.optimizer``): the update rules, one file each,
their registry (``register``, ``create('sgd', learning_rate=0.1)``), and ``Updater``.

    opt = fw.optimizer.create('adam', learning_rate=1e-3, wd=1e-4)
    updater = fw.optimizer.get_updater(opt)
    updater(0, weight.grad, weight)      # one update of weight, in place
"""
from .optimizer import Optimizer, create, register
from .updater import Updater, get_updater
from .sgd import SGD, ccSGD
from .nag import NAG
from .adam import Adam
from .adamw import AdamW
from .adagrad import AdaGrad
from .adadelta import AdaDelta
from .rmsprop import RMSProp
from .adamax import Adamax
from .nadam import Nadam
from .ftrl import Ftrl
from .ftml import FTML
from .signum import Signum
from .lamb import LAMB
from .lars import LARS
from .dcasgd import DCASGD
from .sgld import SGLD

__all__ = ["Optimizer", "register", "create", "Updater", "get_updater", "SGD", "ccSGD", "NAG",
           "Adam", "AdamW", "AdaGrad", "AdaDelta", "RMSProp", "Adamax", "Nadam", "Ftrl",
           "FTML", "Signum", "LAMB", "LARS", "DCASGD", "SGLD"]
